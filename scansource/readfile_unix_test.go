//go:build unix

package scansource

import (
	"errors"
	"os"
	"path/filepath"
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
