//go:build linux

package scansource

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

// TestWalkDirectorySwappedForLink: a directory the walk has listed, replaced
// by a link to another tree before its subdirectories are opened, does not
// lead the walk into that tree: a subdirectory is opened relative to its
// parent's descriptor, not by a path the kernel resolves again.
func TestWalkDirectorySwappedForLink(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{"root/a/b", "outside/b"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for p, c := range map[string]string{"root/a/x": "x", "root/a/b/in": "inside", "outside/b/out": "outside"} {
		if err := os.WriteFile(filepath.Join(base, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	// One goroutine: a's files are visited after a is listed (b pushed)
	// and before b is opened; that is when a becomes a link.
	err := Walk(root, nil, 1, func(b *Batch) error {
		if b.Dir == filepath.Join(root, "a") {
			if err := os.Rename(b.Dir, b.Dir+".moved"); err != nil {
				return err
			}
			if err := os.Symlink(outside, b.Dir); err != nil {
				return err
			}
		}
		for i := range b.Names {
			data, _, err := b.Read(i, nil, 1<<20)
			if err != nil {
				return err
			}
			got = append(got, string(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"inside", "x"}) {
		t.Errorf("after a became a link the walk read %q, want the listed tree's [inside x]", got)
	}
}

// TestWalkLeavesNoDescriptorOnError: a walk stopped by an error while
// directories wait on the shared stack closes every descriptor they hold.
func TestWalkLeavesNoDescriptorOnError(t *testing.T) {
	root := t.TempDir()
	for i := range 20 {
		for j := range 5 {
			d := filepath.Join(root, string(rune('a'+i)), string(rune('a'+j)))
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "f"), []byte("f"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := openFDs(t)
	for _, jobs := range []int{1, 4} {
		stop := errors.New("stop")
		if err := Walk(root, nil, jobs, func(*Batch) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("walk with %d jobs: %v, want visit's error", jobs, err)
		}
		if after := openFDs(t); after != before {
			t.Errorf("with %d jobs: %d descriptors open after a stopped walk, %d before", jobs, after, before)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestWalkDirectoryReplacedByLinkIsAnError: a directory replaced by a link
// after its parent was listed is an error naming it, not followed.
func TestWalkDirectoryReplacedByLinkIsAnError(t *testing.T) {
	t.Parallel()
	root, outside := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "top"), []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(root, "a")
	err := Walk(root, nil, 1, func(b *Batch) error {
		if b.Dir == root {
			if err := os.Remove(a); err != nil {
				return err
			}
			return os.Symlink(outside, a)
		}
		return nil
	})
	if !errors.Is(err, ErrNotDirectory) || !strings.Contains(err.Error(), a) {
		t.Errorf("walk over a directory replaced by a link: %v, want ErrNotDirectory naming %s", err, a)
	}
}

// TestWalkDeeperThanPathMax: a tree whose paths are longer than the
// kernel takes (PATH_MAX, 4096 bytes) is walked whole, every directory
// opened relative to its parent, with few descriptors open at once.
func TestWalkDeeperThanPathMax(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	const depth = 1500 // "ddd/" each: 6000 bytes
	for range depth {
		if err := unix.Mkdirat(fd, "ddd", 0o700); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, "ddd", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		_ = unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	f, err := unix.Openat(fd, "deep.txt", unix.O_WRONLY|unix.O_CREAT, 0o600)
	_ = unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(f, []byte("deep")); err != nil {
		t.Fatal(err)
	}
	_ = unix.Close(f)
	var got []string
	err = Walk(root, nil, 2, func(b *Batch) error {
		for i := range b.Names {
			data, _, err := b.Read(i, nil, 1<<20)
			if err != nil {
				return err
			}
			got = append(got, string(data))
		}
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"deep"}) {
		t.Errorf("walk of a tree %d deep: %q, %v; want [deep]", depth, got, err)
	}
}
