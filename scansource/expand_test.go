package scansource

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWalkFilesExcludes: regular files only, excluded directories and files
// skipped, a file root visited itself.
func TestWalkFilesExcludes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, p := range []string{"a.txt", "skip/b.txt", "keep/c.log", "keep/d.tmp"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := WalkFiles(dir, NewExcluder([]string{"skip/", "*.tmp"}), func(p string) error {
		rel, _ := filepath.Rel(dir, p)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a.txt", "keep/c.log"}) {
		t.Fatalf("visited %v", got)
	}
	var one []string
	if err := WalkFiles(filepath.Join(dir, "a.txt"), nil, func(p string) error { one = append(one, p); return nil }); err != nil || len(one) != 1 {
		t.Fatalf("file root: %v %v", one, err)
	}
}

func TestLineCounter(t *testing.T) {
	t.Parallel()
	lc := NewLineCounter([]byte("ab\nçd\n\nx"))
	for _, tc := range []struct{ off, line, col int }{{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {6, 2, 3}, {8, 4, 1}, {99, 4, 2}} {
		if l, c := lc.At(tc.off); l != tc.line || c != tc.col {
			t.Errorf("At(%d) = %d:%d, want %d:%d", tc.off, l, c, tc.line, tc.col)
		}
	}
}
