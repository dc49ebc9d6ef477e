//go:build unix

package main

import "syscall"

// killGroup ends the process group pid leads (a child keylease started in
// its own group).
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
