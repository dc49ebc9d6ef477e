//go:build linux

package scansource

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// dirHandle is a descriptor of the batch's directory.
type dirHandle struct{ fd int }

func (d dirHandle) read(b *Batch, i int, buf []byte, limit int64) ([]byte, bool, error) {
	return readAt(d.fd, b.Names[i], b.Path(i), buf, limit)
}

func (d dirHandle) open(b *Batch, i int) (*os.File, error) {
	return openAt(d.fd, b.Names[i], b.Path(i))
}

// Walk calls visit with the regular files under root that ex does not
// exclude, one directory's files at a time, never following a link; root
// may be a file. With jobs > 1, that many goroutines walk and call visit
// at once. The first error stops the walk and is returned.
//
// Hand-written for Linux because filepath.WalkDir hands out full paths:
// opening each file by its path makes the kernel resolve every component
// again (a module tree's paths have ten), os.ReadDir sorts and wraps each
// entry, and a single walker must hand files to the scanning goroutines.
// Here each goroutine takes a directory from a shared stack, reads it once
// with getdents64 (types included), pushes its subdirectories for any
// goroutine to take, and reads and visits its files itself, opened
// relative to the directory's descriptor. Where getdents64 gives no type,
// fstatat does.
func Walk(root string, ex *Excluder, jobs int, visit func(*Batch) error) error {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: root, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		// The directory is the operator's path and may be a link
		// (link/a.txt); the file is opened in it without following one.
		dir := filepath.Dir(root)
		fd, err := openDirFlags(dir, 0)
		if err != nil {
			return err
		}
		defer func() { _ = unix.Close(fd) }() // read-only: nothing lost
		return visit(&Batch{Dir: dir, Names: []string{filepath.Base(root)}, dir: dirHandle{fd}, root: root})
	case unix.S_IFDIR:
	default:
		return rootError(root, st.Mode&unix.S_IFMT == unix.S_IFLNK)
	}
	// The root is opened as given: "link/" names the directory a link
	// points to, as the operator asked (Lstat followed it too).
	w := &walker{ex: ex, visit: visit, stack: []dirRef{{name: root, path: filepath.Clean(root)}}}
	w.cond = sync.NewCond(&w.mu)
	if jobs <= 1 {
		w.run()
	} else {
		var wg sync.WaitGroup
		for range jobs {
			wg.Go(w.run)
		}
		wg.Wait()
	}
	// A walk stopped by an error leaves directories on the stack, each
	// holding its parent open.
	for _, d := range w.stack {
		d.parent.release()
	}
	return w.err
}

// dirRef is a directory to walk: root (parent nil, opened by path), or
// name in parent, opened relative to parent's descriptor. Opening by path
// would let a directory listed here, replaced by a link before its
// subdirectories are opened, lead the walk into the link's target: the
// kernel follows every component of a path but the last.
type dirRef struct {
	parent    *openDirFD
	name      string
	path, rel string
}

// openDirFD is a directory's descriptor shared by its own walk and its
// subdirectories not yet opened; the last to let go closes it.
type openDirFD struct {
	fd   int
	refs atomic.Int32
}

func (o *openDirFD) release() {
	if o != nil && o.refs.Add(-1) == 0 {
		_ = unix.Close(o.fd) // read-only: nothing lost
	}
}

func (d dirRef) open() (int, error) {
	if d.parent == nil {
		return openDir(d.name)
	}
	defer d.parent.release()
	for {
		fd, err := unix.Openat(d.parent.fd, d.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
			return -1, fmt.Errorf("open %s: %w", d.path, ErrNotDirectory)
		case err != nil:
			return -1, &os.PathError{Op: "open", Path: d.path, Err: err}
		}
		return fd, nil
	}
}

// walker is the state the walking goroutines share.
type walker struct {
	ex     *Excluder
	visit  func(*Batch) error
	mu     sync.Mutex
	cond   *sync.Cond // a directory was pushed, or the walk is over
	stack  []dirRef   // directories no goroutine has taken
	busy   int        // goroutines reading a directory (which may push more)
	err    error      // the first error
	failed atomic.Bool
}

func (w *walker) run() {
	buf := make([]byte, 64<<10)
	for {
		w.mu.Lock()
		for len(w.stack) == 0 && w.busy > 0 && w.err == nil {
			w.cond.Wait()
		}
		if len(w.stack) == 0 || w.err != nil {
			w.mu.Unlock()
			return
		}
		d := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		w.busy++
		w.mu.Unlock()
		err := w.dir(d, buf)
		w.mu.Lock()
		w.busy--
		if err != nil && w.err == nil {
			w.err = err
			w.failed.Store(true)
		}
		if w.busy == 0 || w.err != nil {
			w.cond.Broadcast() // the walk may be over
		}
		w.mu.Unlock()
	}
}

// dir reads directory d, pushes its subdirectories, then visits its files.
func (w *walker) dir(d dirRef, buf []byte) error {
	fd, err := d.open()
	if err != nil {
		return err
	}
	h := &openDirFD{fd: fd}
	h.refs.Store(1)
	defer h.release()
	var files []string
	var subdirs []dirRef
	err = readDir(fd, buf, func(name string, typ byte) error {
		if typ == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return &os.PathError{Op: "lstat", Path: filepath.Join(d.path, name), Err: err}
			}
			typ = dtOf(st.Mode)
		}
		if typ != unix.DT_DIR && typ != unix.DT_REG {
			return nil
		}
		rel := ""
		if w.ex.active() {
			rel = relJoin(d.rel, name)
			if w.ex.Excluded(rel, typ == unix.DT_DIR) {
				return nil
			}
		}
		if typ == unix.DT_DIR {
			subdirs = append(subdirs, dirRef{parent: h, name: name, path: filepath.Join(d.path, name), rel: rel})
		} else {
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", d.path, err)
	}
	if len(subdirs) > 0 {
		h.refs.Add(int32(len(subdirs))) //nolint:gosec // G115: a directory's entries fit in an int32
		w.mu.Lock()
		w.stack = append(w.stack, subdirs...)
		w.cond.Broadcast()
		w.mu.Unlock()
	}
	if len(files) == 0 || w.failed.Load() {
		return nil
	}
	return w.visit(&Batch{Dir: d.path, Names: files, dir: dirHandle{fd}})
}

// relJoin is a path relative to the walked root, slash-separated, for the
// excludes; root itself is never excluded.
func relJoin(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func openDir(path string) (int, error) { return openDirFlags(path, unix.O_NOFOLLOW) }

func openDirFlags(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|flags, 0)
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
