//go:build !linux

package scansource

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// dirHandle is nothing here: files are read by path.
type dirHandle struct{}

func (dirHandle) read(b *Batch, i int, buf []byte, limit int64) ([]byte, bool, error) {
	return ReadFile(b.Path(i), buf, limit)
}

func (dirHandle) open(b *Batch, i int) (*os.File, error) {
	return openFile(b.Path(i))
}

// batchSize is how many files of a directory one visit takes.
const batchSize = 64

// Walk calls visit with the regular files under root that ex does not
// exclude, up to 64 files of one directory at a time, never following a
// link; root may be a file. With jobs > 1, that many goroutines call
// visit at once. The first error stops the walk and is returned.
func Walk(root string, ex *Excluder, jobs int, visit func(*Batch) error) error {
	st, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return rootError(root, st.Mode()&fs.ModeSymlink != 0)
	}
	var (
		mu     sync.Mutex
		first  error
		wg     sync.WaitGroup
		work   chan *Batch
		failed = func() error { mu.Lock(); defer mu.Unlock(); return first }
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	hand := func(b *Batch) error {
		if work == nil {
			return visit(b)
		}
		work <- b
		return failed()
	}
	if jobs > 1 {
		work = make(chan *Batch, jobs)
		for range jobs {
			wg.Go(func() {
				for b := range work {
					if failed() == nil {
						if err := visit(b); err != nil {
							fail(err)
						}
					}
				}
			})
		}
	}
	var cur *Batch
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
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
		if cur != nil && (cur.Dir != dir || len(cur.Names) == batchSize) {
			b := cur
			cur = nil
			if err := hand(b); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &Batch{Dir: dir}
		}
		if path == root {
			cur.root = root
		}
		cur.Names = append(cur.Names, name)
		return nil
	})
	if err == nil && cur != nil {
		err = hand(cur)
	}
	if work != nil {
		close(work)
		wg.Wait()
	}
	if err != nil {
		return err
	}
	return failed()
}
