//go:build unix

package scansource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesLinksAndFIFOs: a link put where a file was is not
// followed, and a FIFO neither blocks the open nor is read.
func TestReadFileRefusesLinksAndFIFOs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "a.go")
	if err := os.WriteFile(file, []byte("package a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(link, buf, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile of a link: %v, want ErrNotRegular", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := ReadFile(fifo, nil, 1<<20); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile of a FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile of a FIFO with no writer blocked")
	}
}

// TestBatchOpenRefusesSwappedFile: a file the walk listed, replaced by a
// link or a FIFO before a caller opens it to stream it (it was too large
// to read whole), is refused: the link is not followed, the FIFO does not
// block the open.
func TestBatchOpenRefusesSwappedFile(t *testing.T) {
	t.Parallel()
	root, outside := t.TempDir(), t.TempDir()
	secretFile := filepath.Join(outside, "secret")
	for _, p := range []string{filepath.Join(root, "link"), filepath.Join(root, "fifo"), filepath.Join(root, "plain"), secretFile} {
		if err := os.WriteFile(p, []byte("content"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	swap := map[string]func(string) error{
		"link":  func(p string) error { return os.Symlink(secretFile, p) },
		"fifo":  func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"plain": func(string) error { return nil },
	}
	got := map[string]error{}
	done := make(chan error, 1)
	go func() {
		done <- Walk(root, nil, 1, func(b *Batch) error {
			for i, name := range b.Names {
				if name != "plain" {
					if err := os.Remove(b.Path(i)); err != nil {
						return err
					}
				}
				if err := swap[name](b.Path(i)); err != nil {
					return err
				}
				f, err := b.Open(i)
				if err == nil {
					_ = f.Close()
				}
				got[name] = err
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a file replaced by a FIFO blocked")
	}
	for _, name := range []string{"link", "fifo"} {
		if err, ok := got[name]; !ok || !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open of a file replaced by a %s: %v, want ErrNotRegular", name, err)
		}
	}
	if err, ok := got["plain"]; !ok || err != nil {
		t.Errorf("Open of a regular file: %v", err)
	}
}

// linkedDir makes dir/real holding one file, a (content "a"), and a link
// dir/link to dir/real.
func linkedDir(t *testing.T) (dir, target, link string) {
	t.Helper()
	dir = t.TempDir()
	target = filepath.Join(dir, "real")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "a"), []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	link = filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return dir, target, link
}

// TestWalkRootLinkOrFIFO: a root that is a link or a FIFO is an error
// naming it, not a walk of nothing (which a scan would report as clean);
// a link given with a trailing separator names its directory and is walked.
func TestWalkRootLinkOrFIFO(t *testing.T) {
	t.Parallel()
	dir, target, link := linkedDir(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{link, fifo, filepath.Join(target, "a") + "x"} {
		for _, jobs := range []int{1, 3} {
			n := 0
			err := Walk(root, nil, jobs, func(b *Batch) error { n += len(b.Names); return nil })
			if err == nil || !strings.Contains(err.Error(), root) {
				t.Errorf("walk of %s with %d jobs: %v after %d files, want an error naming it", root, jobs, err, n)
			}
		}
	}
	if err := Walk(fifo, nil, 1, func(*Batch) error { return nil }); !errors.Is(err, ErrNotRegular) {
		t.Errorf("walk of a FIFO: %v, want ErrNotRegular", err)
	}
	if got := walkAll(t, link+string(filepath.Separator), nil, 2); len(got) != 1 || !strings.HasSuffix(got[0], "/a=a") {
		t.Errorf("walk of link/: %q, want the linked directory's one file", got)
	}
}

// TestWalkRootFileThroughLinkedDirectory: a file given as the root through
// a directory link the operator named (link/a) is read: only the file
// itself must not be a link.
func TestWalkRootFileThroughLinkedDirectory(t *testing.T) {
	t.Parallel()
	_, _, link := linkedDir(t)
	if got := walkAll(t, filepath.Join(link, "a"), nil, 1); len(got) != 1 || got[0] != filepath.Join(link, "a")+"=a" {
		t.Errorf("walk of link/a: %q", got)
	}
}
