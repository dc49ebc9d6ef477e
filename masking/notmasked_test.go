package masking

import (
	"bytes"
	"strings"
	"testing"
)

// These tests pin what the redactor does NOT mask, as documented: a value
// broken up so that no stream holds one of its forms whole. If one of them
// starts failing because the redactor learned to mask the case, update the
// documentation with it.

// redactOne runs in through a fresh redactor of s and returns the output.
func redactOne(t *testing.T, s *Set, in string) string {
	t.Helper()
	var out bytes.Buffer
	r := s.NewRedactor(&out)
	if _, err := r.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestNotMaskedSplitAcrossStreams: stdout and stderr have a redactor each,
// and the runner's log interleaves them in an order keylease never sees, so
// no redactor can know which bytes will end up next to its own. Half of a
// value on each stream passes both.
func TestNotMaskedSplitAcrossStreams(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	half := len(testSecret) / 2
	out := redactOne(t, s, testSecret[:half]+"\n")
	errOut := redactOne(t, s, testSecret[half:]+"\n")
	if out != testSecret[:half]+"\n" || errOut != testSecret[half:]+"\n" {
		t.Fatalf("the halves were changed (%d and %d bytes out): update the documented limit", len(out), len(errOut))
	}
	// Each stream on its own still masks the whole value.
	if got := redactOne(t, s, "x "+testSecret+"\n"); got != "x ***\n" {
		t.Fatalf("the whole value on one stream was not masked (%d bytes out)", len(got))
	}
}

// TestNotMaskedInterrupted: an ANSI SGR sequence or a bare CR inside the
// value breaks every form; both parts pass.
func TestNotMaskedInterrupted(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	cut := len(testSecret) / 2
	for _, sep := range []string{"\x1b[0m", "\x1b[1;31m", "\r"} {
		in := "x " + testSecret[:cut] + sep + testSecret[cut:] + "\n"
		if got := redactOne(t, s, in); got != in {
			t.Errorf("separator %q: output changed (%d bytes): update the documented limit", sep, len(got))
		}
	}
	// An SGR sequence around the value (not inside it) does not hide it.
	in := "\x1b[1;31m" + testSecret + "\x1b[0m\n"
	if got := redactOne(t, s, in); got != "\x1b[1;31m***\x1b[0m\n" || strings.Contains(got, testSecret) {
		t.Errorf("colored value: %d bytes out, want it masked", len(got))
	}
}
