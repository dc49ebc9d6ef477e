//go:build !unix

package registry

import "time"

var start = time.Now()

// cpuTime is wall time here (syscall has no getrusage): an upper bound of
// the CPU time a single-goroutine parse takes.
func cpuTime() time.Duration { return time.Since(start) }
