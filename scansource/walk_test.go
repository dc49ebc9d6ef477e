package scansource

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// walkAll returns "path=content" for every file Walk hands out with jobs
// goroutines, checking each batch is of one directory.
func walkAll(t *testing.T, root string, ex *Excluder, jobs int) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	err := Walk(root, ex, jobs, func(b *Batch) error {
		if len(b.Names) == 0 {
			t.Error("a batch of no files")
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range b.Names {
			data, big, err := b.Read(i, nil, 1<<20)
			if err != nil || big {
				return err
			}
			if filepath.Dir(b.Path(i)) != filepath.Clean(b.Dir) {
				t.Errorf("file %s is not in its batch's directory %s", b.Path(i), b.Dir)
			}
			got = append(got, filepath.ToSlash(b.Path(i))+"="+string(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

// TestWalk: every regular file once, in batches of one directory, with
// the paths filepath.WalkDir gives, by one goroutine or several; excluded
// files and directories and links are left out; a file as root is read;
// the first error stops the walk.
func TestWalk(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	files := map[string]string{"a.txt": "a", "sub/b.go": "b", "sub/c.log": "c", "sub/deep/d.txt": "d", "skip/e.txt": "e", "sub/f_test.go": "f"}
	for i := range 7 {
		files[filepath.Join("many", string(rune('a'+i))+".txt")] = "m"
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if runtime.GOOS != "windows" {
		if err := os.Symlink(filepath.Join(root, "a.txt"), filepath.Join(root, "link.txt")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, "sub"), filepath.Join(root, "linkdir")); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for p, c := range files {
		want = append(want, filepath.ToSlash(filepath.Join(root, p))+"="+c)
	}
	slices.Sort(want)
	for _, jobs := range []int{1, 2, 8} {
		if got := walkAll(t, root, NewExcluder(nil), jobs); !slices.Equal(got, want) {
			t.Errorf("walk with %d jobs found\n%q\nwant\n%q", jobs, got, want)
		}
	}
	// The same with a trailing separator on the root: the paths are clean.
	if got := walkAll(t, root+string(filepath.Separator), nil, 2); !slices.Equal(got, want) {
		t.Errorf("walk of root/ found\n%q\nwant\n%q", got, want)
	}
	got := walkAll(t, root, NewExcluder([]string{"skip/", "*_test.go", "/sub/deep/"}), 2)
	for _, g := range got {
		if strings.Contains(g, "/skip/") || strings.Contains(g, "_test.go") || strings.Contains(g, "/deep/") {
			t.Errorf("excluded file walked: %s", g)
		}
	}
	if len(got) != len(want)-3 {
		t.Errorf("with excludes: %d files, want %d", len(got), len(want)-3)
	}
	one := filepath.Join(root, "sub", "b.go")
	if got := walkAll(t, one, nil, 2); !slices.Equal(got, []string{filepath.ToSlash(one) + "=b"}) {
		t.Errorf("a file as root: %q", got)
	}
	if err := Walk(filepath.Join(root, "missing"), nil, 2, func(*Batch) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing root: %v, want not-exist", err)
	}
	boom := errors.New("boom")
	for _, jobs := range []int{1, 2} {
		var mu sync.Mutex
		calls := 0
		err := Walk(root, nil, jobs, func(*Batch) error { mu.Lock(); calls++; mu.Unlock(); return boom })
		if !errors.Is(err, boom) || calls > jobs {
			t.Errorf("visit's error with %d jobs: %v after %d visits, want it returned after at most %d", jobs, err, calls, jobs)
		}
	}
}

// TestWalkRootFileAsGiven: a file as root keeps its path as given, as
// filepath.WalkDir gave it, so a baseline written before still matches.
// Not parallel: it changes directory.
func TestWalkRootFileAsGiven(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.go"), []byte("b"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	dotted := "." + string(filepath.Separator) + "b.go"
	if got := walkAll(t, dotted, nil, 1); !slices.Equal(got, []string{"./b.go=b"}) {
		t.Errorf("./b.go as root: %q", got)
	}
}
