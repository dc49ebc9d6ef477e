package scansource

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchText is n bytes of log-like lines.
func benchText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed)) // #nosec G404 -- deterministic corpus on purpose
	words := []string{"INFO", "request", "completed", "status=200", "path=/v1/chat", "retrying", "func", "return", "err", "the"}
	var b bytes.Buffer
	for b.Len() < n {
		for w := 8; w > 0; w-- {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

// BenchmarkZip opens a 64 MB (decompressed) archive of 64 logs in memory.
func BenchmarkZip(b *testing.B) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := range 64 {
		f, err := w.Create(fmt.Sprintf("logs/%d.txt", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(benchText(1<<20, uint64(i))); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(64 << 20)
	for b.Loop() {
		n := 0
		if err := Zip("a.zip", data, DefaultLimits, func(it Item) error { n += len(it.Data); return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 64<<20 {
			b.Fatalf("read %d bytes", n)
		}
	}
}

// BenchmarkGit lists and reads every blob of a 200-commit history (one
// 64 KiB file changed per commit, 13 MB of blobs).
func BenchmarkGit(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git")
	}
	dir := b.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=b@example.com", "-c", "user.name=b", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	run("init", "-q")
	for i := range 200 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", i%20)), benchText(64<<10, uint64(i)), 0o600); err != nil {
			b.Fatal(err)
		}
		run("add", ".")
		run("commit", "-qm", "c")
	}
	var total int64
	for b.Loop() {
		total = 0
		n := 0
		if _, err := Git(context.Background(), dir, 1<<30, func(it Item) error { n++; total += int64(len(it.Data)); return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 200 {
			b.Fatalf("%d blobs, want 200", n)
		}
	}
	b.SetBytes(total)
}

// BenchmarkReadTree reads a tree of 4,000 source-sized files (8 KiB, 40
// directories four deep) with Walk and Batch.Read, and, for comparison,
// the way keylease scan did before: filepath.WalkDir, os.Open, Stat and
// a read to EOF into a reused buffer.
func BenchmarkReadTree(b *testing.B) {
	root := b.TempDir()
	var size int64
	for i := range 4000 {
		p := filepath.Join(root, fmt.Sprintf("m%d", i%5), fmt.Sprintf("pkg%d", i%40), "internal", "impl", fmt.Sprintf("f%d.go", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		data := benchText(8<<10, uint64(i))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
	}
	b.Run("walk+read", func(b *testing.B) {
		b.SetBytes(size)
		buf := make([]byte, 0, 1<<20)
		for b.Loop() {
			var n int64
			err := Walk(root, nil, 1, func(bt *Batch) error {
				for i := range bt.Names {
					data, _, err := bt.Read(i, buf, 64<<20)
					if err != nil {
						return err
					}
					n += int64(len(data))
				}
				return nil
			})
			if err != nil || n != size {
				b.Fatalf("read %d of %d bytes: %v", n, size, err)
			}
		}
	})
	b.Run("walkdir+os.Open", func(b *testing.B) {
		b.SetBytes(size)
		buf := make([]byte, 0, 1<<20)
		for b.Loop() {
			var n int64
			err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				f, err := os.Open(path) //nolint:gosec // G304: the benchmark's tree
				if err != nil {
					return err
				}
				defer func() { _ = f.Close() }()
				if _, err := f.Stat(); err != nil {
					return err
				}
				data, err := ReadInto(f, buf[:0])
				n += int64(len(data))
				return err
			})
			if err != nil || n != size {
				b.Fatalf("read %d of %d bytes: %v", n, size, err)
			}
		}
	})
}
