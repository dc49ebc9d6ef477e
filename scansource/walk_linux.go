//go:build linux

package scansource

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dirHandle is a descriptor of the batch's directory (a duplicate for
// each batch, so batches of one directory close independently).
type dirHandle struct{ fd int }

func (d dirHandle) close() { _ = unix.Close(d.fd) } // read-only: nothing lost

func (d dirHandle) read(b *Batch, i int, buf []byte, limit int64) ([]byte, bool, error) {
	return readAt(d.fd, b.Names[i], b.Path(i), buf, limit)
}

// Walk calls emit with every regular file under root that ex does not
// exclude, at most n files a Batch, never following a link. root may be a
// file. emit owns each batch and must Close it; its first error stops the
// walk.
//
// Hand-written for Linux because filepath.WalkDir hands out full paths:
// opening each file by its path makes the kernel resolve every component
// again (a module tree's paths have ten), and os.ReadDir sorts and wraps
// each entry. Here the walk reads each directory once with getdents64
// (types included) and files are opened relative to their directory's
// descriptor. Where getdents64 gives no type, fstatat does.
func Walk(root string, ex *Excluder, n int, emit func(*Batch) error) error {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return fmt.Errorf("lstat %s: %w", root, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		fd, err := openDir(filepath.Dir(root))
		if err != nil {
			return err
		}
		return emit(&Batch{Dir: filepath.Dir(root), Names: []string{filepath.Base(root)}, dir: dirHandle{fd}})
	case unix.S_IFDIR:
	default:
		return nil // a link or a device: filepath.WalkDir skips it too
	}
	type dir struct{ path, rel string }
	stack := []dir{{filepath.Clean(root), ""}}
	buf := make([]byte, 64<<10)
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fd, err := openDir(d.path)
		if err != nil {
			return err
		}
		var files []string
		err = readDir(fd, buf, func(name string, typ byte) error {
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					return fmt.Errorf("lstat %s: %w", filepath.Join(d.path, name), err)
				}
				typ = dtOf(st.Mode)
			}
			if typ != unix.DT_DIR && typ != unix.DT_REG {
				return nil
			}
			rel := ""
			if ex.active() {
				rel = relJoin(d.rel, name)
				if ex.Excluded(rel, typ == unix.DT_DIR) {
					return nil
				}
			}
			if typ == unix.DT_DIR {
				stack = append(stack, dir{filepath.Join(d.path, name), rel})
				return nil
			}
			files = append(files, name)
			return nil
		})
		if err == nil {
			err = emitBatches(fd, d.path, files, n, emit)
		}
		_ = unix.Close(fd) // read-only: nothing lost
		if err != nil {
			return err
		}
	}
	return nil
}

// emitBatches hands out files in batches of n, each with its own
// duplicate of the directory's descriptor.
func emitBatches(fd int, path string, files []string, n int, emit func(*Batch) error) error {
	for len(files) > 0 {
		k := min(n, len(files))
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("dup %s: %w", path, err)
		}
		if err := emit(&Batch{Dir: path, Names: files[:k:k], dir: dirHandle{dup}}); err != nil {
			return err
		}
		files = files[k:]
	}
	return nil
}

func openDir(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// readDir calls fn for every entry of the directory fd but . and ..,
// parsing linux_dirent64 records: inode (8 bytes), offset (8), record
// length (2), type (1), then the name, NUL-terminated.
func readDir(fd int, buf []byte, fn func(name string, typ byte) error) error {
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read directory: %w", err)
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off < n; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			if reclen < 20 || off+reclen > n {
				return errors.New("read directory: malformed entry from getdents64")
			}
			rec := buf[off+19 : off+reclen]
			end := 0
			for end < len(rec) && rec[end] != 0 {
				end++
			}
			typ := buf[off+18]
			off += reclen
			name := rec[:end]
			if string(name) == "." || string(name) == ".." {
				continue
			}
			if err := fn(string(name), typ); err != nil {
				return err
			}
		}
	}
}

func dtOf(mode uint32) byte {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFREG:
		return unix.DT_REG
	}
	return unix.DT_UNKNOWN
}
