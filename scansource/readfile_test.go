package scansource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFile: a regular file is read whole into the caller's buffer
// (reused when large enough), one over the limit is left to be streamed,
// and a directory is refused.
func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := strings.Repeat("line of source\n", 1000)
	file := filepath.Join(dir, "a.go")
	if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, len(in)+10)
	got, big, err := ReadFile(file, buf, int64(len(in)))
	if err != nil || big || string(got) != in {
		t.Fatalf("ReadFile: %d bytes, big %v, %v; want %d", len(got), big, err, len(in))
	}
	if &got[0] != &buf[:1][0] {
		t.Error("a buffer large enough was not reused")
	}
	got, big, err = ReadFile(file, nil, int64(len(in))-1)
	if err != nil || !big || len(got) != 0 {
		t.Fatalf("ReadFile over the limit: %d bytes, big %v, %v; want none, big", len(got), big, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, big, err := ReadFile(empty, buf, 10); err != nil || big || len(got) != 0 {
		t.Fatalf("ReadFile of an empty file: %d bytes, big %v, %v", len(got), big, err)
	}
	if _, _, err := ReadFile(filepath.Join(dir, "missing"), buf, 10); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("ReadFile of a missing file: %v, want a not-exist error naming it", err)
	}
	if _, _, err := ReadFile(dir, buf, 10); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile of a directory: %v, want ErrNotRegular", err)
	}
}
