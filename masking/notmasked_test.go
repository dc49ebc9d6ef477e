package masking

import (
	"bytes"
	"testing"
)

// These tests pin what the redactor does NOT mask, as documented: a value
// broken up so that no stream holds one of its forms whole (an SGR sequence
// or a bare CR inside a form does not break it: see interrupt_test.go). If
// one of them starts failing because the redactor learned to mask the case,
// update the documentation with it.

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
