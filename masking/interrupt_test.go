package masking

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/secret"
)

// interruptions are the sequences the GitHub log viewer renders invisibly.
var interruptions = []string{"\x1b[0m", "\x1b[1;31m", "\x1b[m", "\x1b[38:5:196m", "\r"}

// redactSplit writes in to a fresh redactor of s in two writes cut at cut
// (no cut when cut is 0 or len(in)) and returns the output.
func redactSplit(t *testing.T, s *Set, in string, cut int) string {
	t.Helper()
	var out bytes.Buffer
	r := s.newRedactor(&out, newFakeClock(), IdleRelease)
	for _, part := range []string{in[:cut], in[cut:]} {
		if _, err := r.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestRedactorInterruptedForm: an SGR sequence or a bare CR at any offset
// inside the value, with the input split into two writes at any offset, is
// masked whole: the interruption goes with the value.
func TestRedactorInterruptedForm(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	for _, sep := range interruptions {
		for at := 1; at < len(testSecret); at++ {
			in := "x " + testSecret[:at] + sep + testSecret[at:] + " y\n"
			for cut := 0; cut <= len(in); cut++ {
				got := redactSplit(t, s, in, cut)
				if got != "x *** y\n" {
					t.Fatalf("%q at %d, cut at %d: got %q", sep, at, cut, strings.ReplaceAll(got, testSecret[2:10], "<part>"))
				}
				assertNoForm(t, strings.ReplaceAll(strings.ReplaceAll(got, sep, ""), "\r", ""), testSecret)
			}
		}
	}
}

// TestRedactorManyInterruptions: several interruptions of each kind inside
// one value are all transparent, up to maxInterrupts.
func TestRedactorManyInterruptions(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	var b strings.Builder
	for i := range len(testSecret) {
		b.WriteByte(testSecret[i])
		if i > 0 && i%3 == 0 && i/3 <= maxInterrupts {
			b.WriteString(interruptions[i%len(interruptions)])
		}
	}
	in := b.String()
	for cut := 0; cut <= len(in); cut++ {
		if got := redactSplit(t, s, "a "+in+"\n", cut); got != "a ***\n" {
			t.Fatalf("cut at %d: got %d bytes, want the value masked", cut, len(got))
		}
	}
}

// TestRedactorInterruptionBounds: transparency is bounded, so an SGR
// sequence longer than maxSGR or interruptions beyond maxInterrupts are
// ordinary text, and what they hold is released.
func TestRedactorInterruptionBounds(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	cut := len(testSecret) / 2
	long := "\x1b[" + strings.Repeat("1;", maxSGR) + "m"
	in := "x " + testSecret[:cut] + long + testSecret[cut:] + "\n"
	if got := redactOne(t, s, in); got != in {
		t.Errorf("over-long SGR sequence: got %d bytes, want the input unchanged", len(got))
	}
	// An ESC that begins no SGR sequence is text: the value is broken.
	for _, bad := range []string{"\x1b[1;3X", "\x1bX", "\x1b[1;3\x1b[0m", "\x1b[1;\r\n"} {
		in := "x " + testSecret[:cut] + bad + testSecret[cut:] + "\n"
		for c := 0; c <= len(in); c++ {
			if got := redactSplit(t, s, in, c); got != in {
				t.Errorf("%q cut at %d: got %q, want the input unchanged", bad, c, got)
			}
		}
	}
	// A broken sequence before a real one inside the value.
	in = "x " + testSecret[:cut] + "\x1b[1;3X" + testSecret[cut:cut+2] + "\x1b[0m" + testSecret[cut+2:] + "\n"
	if got := redactOne(t, s, in); got != in {
		t.Errorf("broken then real sequence: got %q", got)
	}
	var b strings.Builder
	for i := range len(testSecret) {
		b.WriteByte(testSecret[i])
		if i < maxInterrupts+1 {
			b.WriteString("\x1b[0m")
		}
	}
	in = b.String() + "\n"
	if got := redactOne(t, s, in); got != in {
		t.Errorf("%d interruptions: got %d bytes, want the input unchanged", maxInterrupts+1, len(got))
	}
}

// TestRedactorInterruptionsAsText: outside a partial form, SGR sequences,
// CRs and CR LF line ends pass byte for byte; CR LF inside a form is a line
// end, not an interruption; colour around a value stays outside the mask.
func TestRedactorInterruptionsAsText(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	plain := []string{
		"\x1b[1;31merror\x1b[0m: build failed\r\n",
		"progress 10%\rprogress 20%\r\n",
		"sk-te\x1b[0mst no value here\r",
		"sk-test-9f8e\rsk-test-9f8e7d\r\n",
		"sk-test-9f8e7d6c5b4a32\r\n10ZYXWVU\n", // CR LF breaks the value
		"\x1b[1;3",
	}
	for _, in := range plain {
		for cut := 0; cut <= len(in); cut++ {
			if got := redactSplit(t, s, in, cut); got != in {
				t.Errorf("%q cut at %d: got %q", in, cut, got)
			}
		}
	}
	colored := map[string]string{
		"\x1b[1;31m" + testSecret + "\x1b[0m\n":                  "\x1b[1;31m***\x1b[0m\n",
		"\r" + testSecret + "\r\n":                               "\r***\r\n",
		testSecret + "\r" + testSecret + "\n":                    "***\r***\n",
		testSecret[:5] + "\x1b[0m" + testSecret + "\x1b[0mend\n": testSecret[:5] + "\x1b[0m***\x1b[0mend\n",
	}
	for in, want := range colored {
		for cut := 0; cut <= len(in); cut++ {
			if got := redactSplit(t, s, in, cut); got != want {
				t.Errorf("%q cut at %d: got %q, want %q", in, cut, got, want)
			}
		}
	}
}

// TestRedactorInterruptedHoldBack: the streaming guarantees hold with an
// interruption pending: a short partial with an SGR sequence or a trailing
// CR is released after IdleRelease, and a held CR is decided by the next
// write.
func TestRedactorInterruptedHoldBack(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	for _, tail := range []string{"\r", "\x1b[0m", "\x1b[1;"} {
		var out bytes.Buffer
		clk := newFakeClock()
		r := s.newRedactor(&out, clk, IdleRelease)
		in := "prompt sk-te" + tail
		if _, err := r.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != "prompt " {
			t.Fatalf("tail %q: before idle got %q", tail, got)
		}
		clk.Advance(IdleRelease)
		if got := out.String(); got != in {
			t.Fatalf("tail %q: after idle got %q, want the partial released", tail, got)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A long partial ending in a CR is held, and masked with the rest.
	var out bytes.Buffer
	clk := newFakeClock()
	r := s.newRedactor(&out, clk, IdleRelease)
	for _, w := range []string{"k=" + testSecret[:12] + "\r", testSecret[12:] + "\n"} {
		if _, err := r.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "k=***\n" {
		t.Fatalf("long partial with a held CR: got %q", got)
	}
}

// viewerText is text as the log viewer shows it: SGR sequences (of at most
// maxSGR bytes) and bare CRs removed, parsed as the redactor parses them.
func viewerText(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				out = append(out, '\r')
			}
			continue
		case 0x1b:
			if k := sgrLen(b[i:]); k > 0 {
				i += k - 1
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

// sgrLen is the length of the SGR sequence b begins with, or 0.
func sgrLen(b []byte) int {
	if len(b) < 3 || b[0] != 0x1b || b[1] != '[' {
		return 0
	}
	for k := 2; k < len(b) && k < maxSGR; k++ {
		switch c := b[k]; {
		case c == 'm':
			return k + 1
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		default:
			return 0
		}
	}
	return 0
}

// noInterruptBytes drops ESC and CR, so that no form holds one (a form that
// does makes that byte its own, not an interruption).
func noInterruptBytes(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte{0x1b}, nil), []byte("\r"), nil)
}

// interrupt inserts up to maxInterrupts SGR sequences and bare CRs into form
// at offsets (1 .. len-1) and kinds taken from ins.
func interrupt(form, ins []byte) []byte {
	type at struct {
		off int
		seq string
	}
	var list []at
	for k := 0; k+1 < len(ins) && len(list) < maxInterrupts; k += 2 {
		off := 1 + int(ins[k])%(len(form)-1)
		var seq string
		switch ins[k+1] % 4 {
		case 0:
			if form[off] == '\n' {
				continue // CR LF is a line end
			}
			seq = "\r"
		case 1:
			seq = "\x1b[0m"
		case 2:
			seq = "\x1b[" + strings.Repeat("1;", int(ins[k+1])%14) + "31m" // up to 33 bytes: keep <= maxSGR
		default:
			seq = "\x1b[38:5:" + string(rune('0'+ins[k+1]%10)) + "m"
		}
		if len(seq) > maxSGR {
			seq = "\x1b[m"
		}
		list = append(list, at{off, seq})
	}
	var out []byte
	prev := 0
	slices.SortStableFunc(list, func(a, b at) int { return a.off - b.off })
	for _, a := range list {
		out = append(out, form[prev:a.off]...)
		out = append(out, a.seq...)
		prev = a.off
	}
	return append(out, form[prev:]...)
}

// FuzzRedactorInterrupted: a form with SGR sequences and bare CRs inserted
// at random offsets inside it, in random output, split at random write
// boundaries, does not survive in what the log viewer shows.
func FuzzRedactorInterrupted(f *testing.F) {
	f.Add([]byte("sk-proj-AbC123xyz"), []byte("log: "), []byte(" done\n"), uint8(0), []byte{3, 0, 9, 1}, []byte{3, 9, 1})
	f.Add([]byte("line one\nline two\n"), []byte("{\"k\":\""), []byte("\"}"), uint8(7), []byte{4, 0, 5, 2, 200, 3}, []byte{250, 2})
	f.Add([]byte(" sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa "), []byte("Bearer "), []byte("\r\n"), uint8(3), []byte{1, 1, 1, 1, 1, 0, 2, 2, 7, 3, 9, 0, 11, 1, 12, 2}, []byte{2})
	f.Fuzz(func(t *testing.T, raw, pre, post []byte, which uint8, ins, splits []byte) {
		v := fuzzSecret(noInterruptBytes(raw))
		s := NewSet(Options{})
		if err := s.Add(secret.New(v)); err != nil {
			t.Fatalf("Add: %v", err)
		}
		forms := redactionForms(v)
		form := forms[int(which)%len(forms)]
		if len(form) < 2 || bytes.ContainsAny(form, "\x1b\r") {
			t.Skip("form holds an interruption byte")
		}
		pre, post = noInterruptBytes(pre), noInterruptBytes(post)
		data := append(append(append([]byte(nil), pre...), interrupt(form, ins)...), post...)
		var out bytes.Buffer
		writeSplit(t, s.newRedactor(&out, newFakeClock(), IdleRelease), data, splits)
		if !bytes.Contains(out.Bytes(), []byte(mask)) {
			t.Fatalf("no mask written")
		}
		shown := viewerText(out.Bytes())
		for _, g := range forms {
			if len(g) >= MinLen && bytes.Contains(shown, g) {
				t.Fatalf("a form of %d bytes survived", len(g))
			}
		}
	})
}

// FuzzRedactorInterruptedPassThrough: text with SGR sequences and CRs that
// shows no form (and does not end in the start of one of MinLen bytes or
// more) passes byte for byte.
func FuzzRedactorInterruptedPassThrough(f *testing.F) {
	f.Add([]byte("sk-proj-AbC123xyz"), []byte("\x1b[1;31merror\x1b[0m: sk-proj\x1b[0m\r\nok\r"), []byte{5, 1})
	f.Add([]byte("secret-value-123"), []byte("secret-\rvalue-12 almost\x1b[1;3"), []byte{1})
	f.Add([]byte("c2VjcmV0"), []byte("c2Vj\x1bcmV0 \x1b[m\r\r\n"), []byte{250})
	f.Fuzz(func(t *testing.T, raw, text, splits []byte) {
		v := fuzzSecret(noInterruptBytes(raw))
		s := NewSet(Options{})
		if err := s.Add(secret.New(v)); err != nil {
			t.Fatalf("Add: %v", err)
		}
		shown := viewerText(text)
		for _, form := range s.forms {
			if bytes.Contains(shown, form) || bytes.Contains(text, form) {
				t.Skip("text holds a form")
			}
			if overlap(shown, form) >= MinLen || overlap(text, form) >= MinLen {
				t.Skip("text ends in a long partial form")
			}
		}
		var out bytes.Buffer
		writeSplit(t, s.newRedactor(&out, newFakeClock(), IdleRelease), text, splits)
		if !bytes.Equal(out.Bytes(), text) {
			t.Fatalf("output differs from input:\n in %q\nout %q", text, out.Bytes())
		}
	})
}

// TestRedactorInterruptionsHoldBounded: a hostile stream that keeps a long
// partial form going with interruptions holds at most the partial, its
// maxInterrupts interruptions of maxSGR bytes and one pending sequence.
func TestRedactorInterruptionsHoldBounded(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	var out bytes.Buffer
	r := s.newRedactor(&out, newFakeClock(), IdleRelease)
	sgr := "\x1b[" + strings.Repeat("1", maxSGR-3) + "m"
	in := "k=" + testSecret[:12]
	for range 1000 {
		in += sgr
	}
	if _, err := r.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if n := len(r.held); n > 12+(maxInterrupts+1)*maxSGR {
		t.Fatalf("%d bytes held", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoForm(t, string(viewerText(out.Bytes())), testSecret)
}
