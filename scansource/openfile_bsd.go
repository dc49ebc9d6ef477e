//go:build unix && !linux

package scansource

import (
	"os"

	"golang.org/x/sys/unix"
)

// openFile is openAt of a path, for the walk that reads files by path.
func openFile(path string) (*os.File, error) { return openAt(unix.AT_FDCWD, path, path) }
