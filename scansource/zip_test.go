package scansource

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func zipData(t *testing.T, entries ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for i, c := range entries {
		f, err := w.Create("e" + strings.Repeat("x", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZipLimits: each cap refuses an archive with ErrZipBomb, enforced on
// what decompresses (a million zeros compress to about a kilobyte).
func TestZipLimits(t *testing.T) {
	t.Parallel()
	zeros := strings.Repeat("\x00", 1<<20)
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		wantErr string
		items   int
	}{
		{"within", zipData(t, "a", "b"), Limits{Entries: 2, EntryBytes: 10, TotalBytes: 20}, "", 2},
		{"entries", zipData(t, "a", "b", "c"), Limits{Entries: 2, EntryBytes: 10, TotalBytes: 20}, "3 entries", 0},
		{"entry size", zipData(t, zeros), Limits{Entries: 5, EntryBytes: 1 << 19, TotalBytes: 1 << 30}, "decompresses past 524288 bytes", 0},
		{"total size", zipData(t, zeros[:600], zeros[:600]), Limits{Entries: 5, EntryBytes: 1000, TotalBytes: 1000}, "in all", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			err := Zip("a.zip", tt.data, tt.lim, func(it Item) error {
				if !strings.HasPrefix(it.Path, "a.zip!e") {
					t.Errorf("item path %q", it.Path)
				}
				n++
				return nil
			})
			if tt.wantErr == "" {
				if err != nil || n != tt.items {
					t.Fatalf("err %v, %d items, want nil and %d", err, n, tt.items)
				}
				return
			}
			if !errors.Is(err, ErrZipBomb) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want ErrZipBomb with %q", err, tt.wantErr)
			}
			if n != tt.items {
				t.Errorf("%d items emitted before the refusal, want %d", n, tt.items)
			}
		})
	}
	if err := Zip("b.zip", []byte("not a zip"), DefaultLimits, func(Item) error { return nil }); err == nil || !strings.Contains(err.Error(), "not a readable zip") {
		t.Errorf("garbage: %v", err)
	}
}

func TestExcluder(t *testing.T) {
	t.Parallel()
	x := NewExcluder([]string{"# comment", "*_test.go", "testdata/", "!keep_test.go", "/rooted.txt", ""})
	for path, want := range map[string]bool{
		"a_test.go": true, "pkg/b_test.go": true, "keep_test.go": false, "pkg/main.go": false,
		"testdata": true, "pkg/testdata/x": true, "rooted.txt": true, "sub/rooted.txt": false,
	} {
		if got := x.Excluded(path, path == "testdata"); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", path, got, want)
		}
	}
	if (*Excluder)(nil).Excluded("a", false) || NewExcluder(nil).Excluded("a", false) {
		t.Error("no patterns excluded something")
	}
}
