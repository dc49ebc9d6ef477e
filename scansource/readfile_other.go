//go:build !unix

package scansource

import (
	"fmt"
	"os"
)

// ReadFile reads the regular file at path whole into buf (grown only when
// it is too small) when it holds at most limit bytes; big is true, and
// nothing is read, when it holds more, for the caller to stream it.
func ReadFile(path string, buf []byte, limit int64) (data []byte, big bool, err error) {
	st, err := os.Lstat(path)
	if err != nil {
		return buf[:0], false, err
	}
	if !st.Mode().IsRegular() {
		return buf[:0], false, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if st.Size() > limit {
		return buf[:0], true, nil
	}
	f, err := openSame(path, st)
	if err != nil {
		return buf[:0], false, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	if int64(cap(buf)) < st.Size()+1 {
		buf = make([]byte, 0, st.Size()+512)
	}
	b, err := ReadInto(f, buf[:0])
	return b, false, err
}

// openFile opens the regular file at path for a caller that streams it.
func openFile(path string) (*os.File, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	return openSame(path, st)
}

// openSame opens path and checks it is still the file Lstat saw: os.Open
// follows a link, so a link put in place of the file after the Lstat would
// otherwise be read.
func openSame(path string, st os.FileInfo) (*os.File, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the operator names the tree to scan
	if err != nil {
		return nil, err
	}
	now, err := f.Stat()
	if err == nil && (!now.Mode().IsRegular() || !os.SameFile(st, now)) {
		err = fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if err != nil {
		_ = f.Close() // read-only: a close error loses nothing
		return nil, err
	}
	return f, nil
}
