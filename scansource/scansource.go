// Package scansource yields what keylease scan reads: zip archives opened
// in memory under size caps, every blob of a git repository's history once
// (with the commit and path where it first appears), and gitignore-style
// excludes.
package scansource

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Item is one piece of content to scan.
type Item struct {
	Commit string // the commit a blob first appears in (git), else ""
	Path   string // file path, "archive!entry", or the blob's path
	Data   []byte
}

// Limits cap what a zip archive may expand to in memory.
type Limits struct {
	Entries    int   // entries per archive
	EntryBytes int64 // decompressed bytes per entry
	TotalBytes int64 // decompressed bytes per archive
}

// DefaultLimits fit downloaded workflow logs and artifacts.
var DefaultLimits = Limits{Entries: 10000, EntryBytes: 256 << 20, TotalBytes: 1 << 30}

// ErrZipBomb is returned for an archive that expands past its Limits.
var ErrZipBomb = errors.New("archive expands past the scan's limits (a zip bomb, or raise the limit)")

// ZipEntries reads the entry count from an archive's end-of-central-
// directory record (zip64 too) without reading the directory; ok is false
// when there is no such record (archive/zip then refuses the data).
// Hand-written because archive/zip exposes no count before it has read
// every entry.
func ZipEntries(data []byte) (n uint64, ok bool) {
	const eocdLen, maxComment = 22, 65535
	lo := max(0, len(data)-eocdLen-maxComment)
	i := bytes.LastIndex(data[lo:], []byte("PK\x05\x06"))
	if i < 0 || lo+i+eocdLen > len(data) {
		return 0, false
	}
	i += lo
	n = uint64(binary.LittleEndian.Uint16(data[i+10:]))
	if n != 0xFFFF || i < 20 || !bytes.Equal(data[i-20:i-16], []byte("PK\x06\x07")) {
		return n, true
	}
	// Zip64: the locator before the record points at the zip64 record.
	off := binary.LittleEndian.Uint64(data[i-20+8:])
	if off > uint64(len(data)) || uint64(len(data))-off < 56 || !bytes.Equal(data[off:off+4], []byte("PK\x06\x06")) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(data[off+32:]), true
}

// IsZip reports whether a path names a zip archive keylease opens.
func IsZip(path string) bool {
	// Without strings.ToLower: it copies every path of a scanned tree.
	return len(path) >= 4 && strings.EqualFold(path[len(path)-4:], ".zip")
}

// Zip calls emit for every regular entry of the archive data (named
// name!entry), decompressed in memory. Sizes are enforced on the bytes
// actually read, not on the sizes the archive claims.
func Zip(name string, data []byte, lim Limits, emit func(Item) error) error {
	// archive/zip reads the whole central directory (about 200 bytes of
	// memory an entry) before anyone can count it: count first.
	if n, ok := ZipEntries(data); ok && n > uint64(max(lim.Entries, 0)) {
		return fmt.Errorf("zip %s: %d entries, more than %d: %w", name, n, lim.Entries, ErrZipBomb)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("zip %s: not a readable zip archive: %w", name, err)
	}
	if len(zr.File) > lim.Entries {
		return fmt.Errorf("zip %s: %d entries, more than %d: %w", name, len(zr.File), lim.Entries, ErrZipBomb)
	}
	var total int64
	for i, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		entry := f.Name
		if !utf8.ValidString(entry) {
			entry = fmt.Sprintf("entry-%d", i)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("zip %s!%s: %w", name, entry, err)
		}
		limit := min(lim.EntryBytes, lim.TotalBytes-total) + 1
		// The declared size only sizes the buffer (capped): the limit is
		// enforced on what is read.
		hint := min(int64(min(f.UncompressedSize64, 1<<62)), limit, 64<<20) // #nosec G115 -- capped at 1<<62
		buf, err := ReadInto(io.LimitReader(rc, limit), make([]byte, 0, hint+1))
		_ = rc.Close() // read-only: a close error loses nothing
		if err != nil {
			return fmt.Errorf("zip %s!%s: %w", name, entry, err)
		}
		if int64(len(buf)) > lim.EntryBytes {
			return fmt.Errorf("zip %s!%s: decompresses past %d bytes: %w", name, entry, lim.EntryBytes, ErrZipBomb)
		}
		total += int64(len(buf))
		if total > lim.TotalBytes {
			return fmt.Errorf("zip %s: decompresses past %d bytes in all: %w", name, lim.TotalBytes, ErrZipBomb)
		}
		if err := emit(Item{Path: name + "!" + entry, Data: buf}); err != nil {
			return err
		}
	}
	return nil
}

// ReadInto reads r to EOF, appending to buf and growing it only when full:
// io.ReadAll takes no buffer, so a caller could not reuse one (a scan reads
// thousands of files).
func ReadInto(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
