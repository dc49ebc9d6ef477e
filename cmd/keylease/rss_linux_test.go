package main

import (
	"os"
	"syscall"
)

// peakRSS is the child's peak resident set in bytes (Linux reports KiB).
func peakRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss << 10, true
}
