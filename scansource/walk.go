package scansource

import (
	"fmt"
	"os"
	"path/filepath"
)

// Batch is regular files of one directory, handed to Walk's visit. It is
// valid only during that call: it may hold the directory open, so that its
// files are opened by name, not by path.
type Batch struct {
	Dir   string   // the directory as walked: root, or root joined with its path
	Names []string // the files' names in Dir
	dir   dirHandle
	root  string // when the walk's root is this batch's one file: its path as given
}

// Path returns the path of file i, as filepath.WalkDir gives it:
// filepath.Join(Dir, name) (Dir is clean: no Clean per file), or the root
// as given when the root is a file.
func (b *Batch) Path(i int) string {
	switch {
	case b.root != "":
		return b.root // as filepath.WalkDir gives it: "./a.txt" stays so
	case b.Dir == ".":
		return b.Names[i]
	case os.IsPathSeparator(b.Dir[len(b.Dir)-1]):
		return b.Dir + b.Names[i]
	}
	return b.Dir + string(filepath.Separator) + b.Names[i]
}

// Read reads file i as ReadFile does.
func (b *Batch) Read(i int, buf []byte, limit int64) (data []byte, big bool, err error) {
	return b.dir.read(b, i, buf, limit)
}

// Open opens file i for a caller that streams it (Read found it too
// large): as Read does, it refuses a link, a FIFO or a device put in the
// file's place, never following or waiting on it.
func (b *Batch) Open(i int) (*os.File, error) {
	return b.dir.open(b, i)
}

// WalkFiles calls visit with the path of every regular file under root
// (root itself when it is a file) that ex does not exclude, one at a time;
// for a caller that reads each file itself.
func WalkFiles(root string, ex *Excluder, visit func(path string) error) error {
	return Walk(root, ex, 1, func(b *Batch) error {
		for i := range b.Names {
			if err := visit(b.Path(i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// rootError is Walk's error for a root that is neither a directory nor a
// regular file. Passing over it, as filepath.WalkDir does, would report a
// root that is a link as scanned and clean when nothing was read.
func rootError(root string, link bool) error {
	if link {
		return fmt.Errorf("%s: a symbolic link, and links are not followed: name the directory or file it points to (a trailing / names the directory)", root)
	}
	return fmt.Errorf("%s: %w", root, ErrNotRegular)
}
