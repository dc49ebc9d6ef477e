package scansource

import (
	"os"
	"path/filepath"
)

// Batch is up to a walk's batch size of regular files of one directory.
// Read them with Read; Close it when done (it may hold the directory
// open, so its files are opened by name, not by path).
type Batch struct {
	Dir   string   // the directory as walked: root, or root joined with its path
	Names []string // the files' names in Dir
	dir   dirHandle
}

// Path returns the path of file i, as filepath.Join(Dir, name) would
// (Dir is clean: no Clean per file).
func (b *Batch) Path(i int) string {
	switch {
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

// Close releases the batch's hold on its directory.
func (b *Batch) Close() { b.dir.close() }

// rel is a path relative to the walked root, slash-separated, for the
// excludes; root itself is never excluded.
func relJoin(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
