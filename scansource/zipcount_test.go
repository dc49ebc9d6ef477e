package scansource

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"
)

func zipOf(t testing.TB, entries int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := range entries {
		if _, err := zw.Create(fmt.Sprintf("e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestZipEntries(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{0, 1, 7, 300} {
		got, ok := ZipEntries(zipOf(t, int(n))) // #nosec G115 -- small constants
		if !ok || got != n {
			t.Errorf("%d entries: ZipEntries = %d, %v", n, got, ok)
		}
	}
	if _, ok := ZipEntries([]byte("not a zip")); ok {
		t.Error("ZipEntries found a count in text")
	}
}

// TestZipManyEntriesRefusedBeforeReading: an archive of many empty entries
// is refused from its end record, before archive/zip reads a directory of
// about 200 bytes of memory an entry.
func TestZipManyEntriesRefusedBeforeReading(t *testing.T) {
	data := zipOf(t, 60000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := Zip("many.zip", data, DefaultLimits, func(Item) error { return nil })
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrZipBomb) {
		t.Fatalf("err %v, want ErrZipBomb", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes before refusing (the directory was read)", grew)
	}
}

// FuzzZipEntries: the end-record reader never panics or reads out of range
// on arbitrary bytes, and agrees with archive/zip on archives it can read.
func FuzzZipEntries(f *testing.F) {
	f.Add(zipOf(f, 3))
	f.Add([]byte("PK\x05\x06"))
	f.Add(append(make([]byte, 20), []byte("PK\x06\x07\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xffPK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, ok := ZipEntries(data)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err == nil && ok && len(zr.File) > 0 && n == 0 {
			t.Errorf("ZipEntries says 0 entries, archive/zip read %d", len(zr.File))
		}
	})
}
