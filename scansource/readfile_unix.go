//go:build unix

package scansource

import (
	"errors"
	"fmt"

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
	var fd int
	for {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.ELOOP) {
		return buf[:0], false, fmt.Errorf("open %s: %w", path, ErrNotRegular)
	}
	if err != nil {
		return buf[:0], false, fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { _ = unix.Close(fd) }() // read-only: a close error loses nothing
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return buf[:0], false, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return buf[:0], false, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	size := st.Size
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
