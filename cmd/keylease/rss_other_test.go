//go:build !linux

package main

import "os"

// peakRSS is not measured outside Linux (macOS reports bytes, Windows differs).
func peakRSS(*os.ProcessState) (int64, bool) { return 0, false }
