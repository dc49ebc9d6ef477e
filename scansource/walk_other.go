//go:build !linux

package scansource

import (
	"io/fs"
	"path/filepath"
)

// dirHandle is nothing here: files are read by path.
type dirHandle struct{}

func (dirHandle) close() {}

func (dirHandle) read(b *Batch, i int, buf []byte, limit int64) ([]byte, bool, error) {
	return ReadFile(b.Path(i), buf, limit)
}

// Walk calls emit with every regular file under root that ex does not
// exclude, at most n files a Batch, never following a link. root may be a
// file. emit owns each batch and must Close it; its first error stops the
// walk.
func Walk(root string, ex *Excluder, n int, emit func(*Batch) error) error {
	var cur *Batch
	flush := func() error {
		if cur == nil {
			return nil
		}
		b := cur
		cur = nil
		return emit(b)
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && ex.active() {
			rel, rerr := filepath.Rel(root, path)
			if rerr != nil {
				rel = filepath.Base(path)
			}
			if ex.Excluded(rel, d.IsDir()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		dir, name := filepath.Dir(path), filepath.Base(path)
		if cur != nil && (cur.Dir != dir || len(cur.Names) == n) {
			if err := flush(); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &Batch{Dir: dir}
		}
		cur.Names = append(cur.Names, name)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
