package masking

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode"

	"github.com/keylease/keylease/secret"
)

// fuzzSecret turns fuzz bytes into a value keylease would accept: at least
// MinLen bytes besides surrounding white space, and without '*' (a value made of *** and
// its surroundings could be rebuilt by the mask itself, for the runner too).
func fuzzSecret(raw []byte) []byte {
	if len(raw) > 8<<10 {
		raw = raw[:8<<10] // long enough for a PEM key; keeps executions fast
	}
	v := bytes.ReplaceAll(raw, []byte("*"), []byte("+"))
	for len(bytes.TrimFunc(v, unicode.IsSpace)) < MinLen {
		v = append(v, "Zq7#"...)
	}
	return v
}

// writeSplit writes data to w in pieces whose sizes come from splits.
func writeSplit(t *testing.T, w *Redactor, data, splits []byte) {
	t.Helper()
	i := 0
	for len(data) > 0 {
		n := len(data)
		if len(splits) > 0 {
			n = int(splits[i%len(splits)])%97 + 1
			if splits[i%len(splits)] > 240 {
				n = int(splits[i%len(splits)]) * 300 // some long writes
			}
			i++
		}
		n = min(n, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzRedactorMasksForms: a value written in any of its forms inside random
// output, or as wrapped base64 (`echo "$V" | base64`, `openssl base64`, with
// LF or CRLF), split at random write boundaries, never survives.
func FuzzRedactorMasksForms(f *testing.F) {
	f.Add([]byte("sk-proj-AbC123xyz"), []byte("log: "), []byte(" done\n"), uint8(0), []byte{3, 9, 1})
	f.Add([]byte("line one\r\nline two\n"), []byte("{\"k\":\""), []byte("\"}"), uint8(7), []byte{250, 2})
	f.Add([]byte("quo\"te'&<>%é😀 \\ ok"), []byte("%"), []byte("&&"), uint8(13), []byte{1})
	f.Add(bytes.Repeat([]byte("long-secret-material/"), 200), []byte("x"), []byte("y"), uint8(21), []byte{255, 17})
	f.Add([]byte("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"), []byte("$ echo \"$KEY\" | base64\n"), []byte("ok\n"), uint8(255), []byte{7, 1, 250})
	f.Add([]byte(" sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa "), []byte("Bearer "), []byte("\r\n"), uint8(3), []byte{2})
	f.Fuzz(func(t *testing.T, raw, pre, post []byte, which uint8, splits []byte) {
		v := fuzzSecret(raw)
		s := NewSet(Options{})
		if err := s.Add(secret.New(v)); err != nil {
			t.Fatalf("Add: %v", err)
		}
		forms := redactionForms(v)
		const wrapped = 248 // 248..255: widths x {LF, CRLF} x {printf, echo}
		k := int(which)
		var form []byte
		if k < wrapped {
			k %= len(forms)
			form = forms[k]
		} else {
			k -= wrapped
			eol, enc := "\n", append([]byte(nil), v...)
			if k&2 != 0 {
				eol = "\r\n"
			}
			if k&4 != 0 {
				enc = append(enc, '\n')
			}
			// A prompt after the block keeps post's bytes off its last digits.
			form = []byte(wrapBase64(enc, wrapWidths[k&1], eol) + "$ ")
		}
		data := append(append(append([]byte(nil), pre...), form...), post...)
		var out bytes.Buffer
		writeSplit(t, s.newRedactor(&out, newFakeClock(), IdleRelease), data, splits)
		if bytes.Contains(out.Bytes(), form) {
			t.Fatalf("form %d (%d bytes) survived", k, len(form))
		}
		if !bytes.Contains(out.Bytes(), []byte(mask)) {
			t.Fatalf("no mask written")
		}
		for _, f := range forms {
			if len(f) >= MinLen && bytes.Contains(out.Bytes(), f) {
				t.Fatalf("a form of %d bytes survived", len(f))
			}
		}
		// No MinLen base64 digits of the value survive across line breaks,
		// unless pre or post hold them themselves.
		join := func(b []byte) []byte {
			return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), nil)
		}
		joined, jpre, jpost := join(out.Bytes()), join(pre), join(post)
		stable := stableBase64(base64.RawStdEncoding, v)
		for i := 0; i+MinLen <= len(stable); i++ {
			w := stable[i : i+MinLen]
			if bytes.Contains(joined, w) && !bytes.Contains(jpre, w) && !bytes.Contains(jpost, w) {
				t.Fatalf("%d base64 digits of the value at digit %d survived", MinLen, i)
			}
		}
		// Streaming equals whole-buffer sanitizing unless the stream ends in
		// a long partial form (masked at Close by design).
		if len(s.forms) <= 64 {
			for _, f := range s.forms {
				if overlap(data, f) >= MinLen {
					return
				}
			}
			if want := s.Sanitize(string(data)); out.String() != want {
				t.Fatalf("streaming output differs from Sanitize:\n got %q\nwant %q", out.Bytes(), want)
			}
		}
	})
}

// FuzzRedactorPassThrough: output holding no form, and not ending in the
// start of one of MinLen bytes or more (masked at end of stream by design),
// passes byte for byte.
func FuzzRedactorPassThrough(f *testing.F) {
	f.Add([]byte("sk-proj-AbC123xyz"), []byte("ordinary log output\nwith lines\n"), []byte{5, 1})
	f.Add([]byte("secret-value-123"), []byte("secret-value-12 almost"), []byte{1})
	f.Add([]byte("c2VjcmV0"), []byte("c2VjcmV0 is base64 of secret"), []byte{250})
	f.Fuzz(func(t *testing.T, raw, text, splits []byte) {
		v := fuzzSecret(raw)
		s := NewSet(Options{})
		if err := s.Add(secret.New(v)); err != nil {
			t.Fatalf("Add: %v", err)
		}
		for _, form := range s.forms {
			if bytes.Contains(text, form) {
				t.Skip("text holds a form")
			}
			if overlap(text, form) >= MinLen {
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

// overlap is the length of the longest suffix of text that is a proper
// prefix of form (Knuth-Morris-Pratt over form).
func overlap(text, form []byte) int {
	if len(form) < 2 {
		return 0
	}
	pi := make([]int, len(form))
	for i, k := 1, 0; i < len(form); i++ {
		for k > 0 && form[i] != form[k] {
			k = pi[k-1]
		}
		if form[i] == form[k] {
			k++
		}
		pi[i] = k
	}
	k := 0
	for _, c := range text {
		for k > 0 && (k == len(form) || c != form[k]) {
			k = pi[k-1]
		}
		if c == form[k] {
			k++
		}
	}
	if k == len(form) {
		k = pi[k-1]
	}
	return k
}

// runnerUnescape is the runner's UnescapeData for command data
// (ActionCommand._escapeDataMappings, replaced in this order).
func runnerUnescape(s string) string {
	s = strings.ReplaceAll(s, "%0D", "\r")
	s = strings.ReplaceAll(s, "%0A", "\n")
	return strings.ReplaceAll(s, "%25", "%")
}

// parseAddMask reads ::add-mask:: commands the way the runner reads the
// step's stdout: one command per line.
func parseAddMask(t testing.TB, out string) []string {
	t.Helper()
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		data, ok := strings.CutPrefix(line, "::add-mask::")
		if !ok {
			t.Fatalf("not an add-mask command: %d bytes", len(line))
		}
		got = append(got, runnerUnescape(data))
	}
	return got
}

// FuzzAddMaskRoundTrip: what RegisterWithRunner writes, unescaped by the
// runner's rules, is exactly the registered forms.
func FuzzAddMaskRoundTrip(f *testing.F) {
	f.Add([]byte("plain-secret-value"))
	f.Add([]byte("multi\r\nline\nvalue%0A%25%\r"))
	f.Add([]byte("%0D%0A%25"))
	f.Add([]byte("  spaced  \n\n\t\n  "))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(trimSpace(raw)) == 0 {
			t.Skip()
		}
		var out bytes.Buffer
		n, err := RegisterWithRunner(&out, secret.New(raw))
		if err != nil {
			t.Fatal(err)
		}
		got := parseAddMask(t, out.String())
		if len(got) != n {
			t.Fatalf("%d commands parsed, %d reported", len(got), n)
		}
		var want []string
		for _, f := range registrationForms(raw) {
			if len(trimSpace(f)) > 0 {
				want = append(want, string(f))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%d forms round-tripped, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("form %d did not round-trip", i)
			}
		}
		if got[0] != string(raw) {
			t.Fatalf("first command is not the value itself")
		}
		if strings.Count(out.String(), "\n") != n {
			t.Fatalf("a command spans lines")
		}
	})
}

// naiveSpans is every occurrence of every pattern, found one bytes.Index at
// a time, merged.
func naiveSpans(pats [][]byte, text []byte) []span {
	var sp []span
	for _, p := range pats {
		if len(p) == 0 {
			continue
		}
		for i := 0; ; {
			j := bytes.Index(text[i:], p)
			if j < 0 {
				break
			}
			sp = append(sp, span{int64(i + j), int64(i + j + len(p))})
			i += j + 1
		}
	}
	return merge(sp)
}

// FuzzMatcher: the skip scan and the automaton find exactly what a naive
// search finds, for patterns of any length (short ones included).
func FuzzMatcher(f *testing.F) {
	f.Add([]byte("abc|abcdefgh|bcd|zzzzzzzzzzzz"), []byte("xxabcdefghzzzzzzzzzzzzzzbcd"))
	f.Add([]byte("aaaaaaaa|aaaaaaab"), bytes.Repeat([]byte("a"), 40))
	f.Add([]byte("x"), []byte("xyzx"))
	f.Fuzz(func(t *testing.T, patSpec, text []byte) {
		pats := bytes.Split(patSpec, []byte("|"))
		if len(pats) > 64 {
			pats = pats[:64]
		}
		m := newMatcher(pats)
		want := naiveSpans(pats, text)
		got := merge(m.scan(text, 0, nil))
		if len(got) != len(want) {
			t.Fatalf("scan: %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("scan: %v, want %v", got, want)
			}
		}
		st, fed := m.feed(0, text, 0, nil)
		fed = merge(fed)
		ss, st2 := m.scanState(text, 0, nil)
		if st2 != st {
			t.Fatalf("scanState ends in state %d, the automaton in %d", st2, st)
		}
		if ss = merge(ss); len(ss) != len(want) {
			t.Fatalf("scanState: %v, want %v", ss, want)
		}
		if len(fed) != len(want) {
			t.Fatalf("feed: %v, want %v", fed, want)
		}
		for i := range fed {
			if fed[i] != want[i] {
				t.Fatalf("feed: %v, want %v", fed, want)
			}
		}
	})
}
