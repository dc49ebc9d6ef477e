//go:build unix

package scansource

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ReadFile reads the regular file at path whole into buf (grown only when
// it is too small) when it holds at most limit bytes; big is true, and
// nothing is read, when it holds more, for the caller to stream it.
//
// A tree of small files is dominated by system calls, so this makes four
// per file: open, fstat, read, close. os.Open makes ten on Linux (it asks
// the poller to take a regular file, which the poller refuses, and sets
// flags); keylease scan reads thousands of files, so it calls the system
// directly. O_NONBLOCK keeps a FIFO from blocking the open and O_NOFOLLOW
// keeps a link from being followed; fstat then refuses anything that is
// not a regular file. The content is the file as it was at fstat: bytes
// appended later are not read.
func ReadFile(path string, buf []byte, limit int64) (data []byte, big bool, err error) {
	return readAt(unix.AT_FDCWD, path, path, buf, limit)
}

// readAt is ReadFile of name in the directory dirfd; path names the file
// in errors.
func readAt(dirfd int, name, path string, buf []byte, limit int64) (data []byte, big bool, err error) {
	fd, size, err := openRegular(dirfd, name, path)
	if err != nil {
		return buf[:0], false, err
	}
	defer func() { _ = unix.Close(fd) }() // read-only: a close error loses nothing
	if size > limit {
		return buf[:0], true, nil
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:size]
	n := 0
	for n < len(buf) {
		k, err := unix.Read(fd, buf[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return buf[:0], false, fmt.Errorf("read %s: %w", path, err)
		case k == 0: // shrunk since fstat
			return buf[:n], false, nil
		}
		n += k
	}
	return buf, false, nil
}

// openAt opens name in the directory dirfd as readAt does, for a file too
// large to read whole: a link or a FIFO put in its place after readAt saw
// it is refused, never followed or waited on.
func openAt(dirfd int, name, path string) (*os.File, error) {
	fd, _, err := openRegular(dirfd, name, path)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil //nolint:gosec // G115: a descriptor is small
}

// openRegular opens name in dirfd without following a link or blocking on
// a FIFO, and returns its size when it is a regular file.
func openRegular(dirfd int, name, path string) (int, int64, error) {
	var (
		fd  int
		err error
	)
	for {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.ELOOP) {
		return -1, 0, fmt.Errorf("open %s: %w", path, ErrNotRegular)
	}
	if err != nil {
		return -1, 0, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return -1, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		_ = unix.Close(fd)
		return -1, 0, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	return fd, st.Size, nil
}
