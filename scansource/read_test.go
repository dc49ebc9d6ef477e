package scansource

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadInto: the whole input lands in the caller's buffer, which is
// reused when large enough and grown when not; a read error is returned
// with what was read before it.
func TestReadInto(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("abcdefgh", 1000)
	buf := make([]byte, 0, len(in)+1)
	got, err := ReadInto(iotest.HalfReader(strings.NewReader(in)), buf)
	if err != nil || string(got) != in {
		t.Fatalf("ReadInto: %d bytes, %v; want %d", len(got), err, len(in))
	}
	if &got[0] != &buf[:1][0] {
		t.Error("a buffer large enough was not reused")
	}
	got, err = ReadInto(strings.NewReader(in), make([]byte, 0, 3))
	if err != nil || string(got) != in {
		t.Fatalf("ReadInto into a small buffer: %d bytes, %v", len(got), err)
	}
	boom := errors.New("boom")
	got, err = ReadInto(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(in))), nil)
	if !errors.Is(err, iotest.ErrTimeout) || string(got) != "a" {
		t.Fatalf("ReadInto after an error: %q, %v; want %q and the error", got, err, "a")
	}
	if _, err := ReadInto(iotest.ErrReader(boom), nil); !errors.Is(err, boom) {
		t.Fatalf("ReadInto: %v, want %v", err, boom)
	}
}
