//go:build linux

package scansource

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWalkClosesDescriptors: a walk leaves no directory open, whether it
// ends or visit stops it.
func TestWalkClosesDescriptors(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a", "a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"1", "2", "3"} {
			if err := os.WriteFile(filepath.Join(root, d, f), []byte(f), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	open := func() int {
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := open()
	walkAll(t, root, nil, 1)
	walkAll(t, root, nil, 3)
	n := 0
	_ = Walk(root, nil, 1, func(*Batch) error {
		if n++; n == 2 {
			return os.ErrClosed
		}
		return nil
	})
	if after := open(); after != before {
		t.Errorf("%d descriptors open after the walks, %d before", after, before)
	}
}
