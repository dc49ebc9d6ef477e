//go:build !unix

package main

import "os"

// killGroup ends pid: no process groups to signal here.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
