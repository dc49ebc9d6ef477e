package masking

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keylease/keylease/secret"
)

// wrapBase64 is base64 of b wrapped at cols columns with eol after every
// line, the last one included: `base64` (GNU, 76), `openssl base64` and PEM
// (64), Python's base64.encodebytes (76), CRLF on Windows tools.
func wrapBase64(b []byte, cols int, eol string) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > cols {
		out.WriteString(s[:cols])
		out.WriteString(eol)
		s = s[cols:]
	}
	out.WriteString(s)
	out.WriteString(eol)
	return out.String()
}

// assertNoWrappedBase64 fails if out, with its line breaks removed, still
// holds MinLen or more consecutive base64 digits of v (those that do not
// depend on what follows v), or decodes back to v; and if any form of v
// survived. The text around the encoding in these tests holds no such digits.
func assertNoWrappedBase64(t *testing.T, out string, v []byte) {
	t.Helper()
	assertNoForm(t, out, string(v))
	joined := strings.NewReplacer("\r", "", "\n", "").Replace(out)
	stable := string(stableBase64(base64.RawStdEncoding, v))
	for i := 0; i+MinLen <= len(stable); i++ {
		if strings.Contains(joined, stable[i:i+MinLen]) {
			t.Fatalf("%d base64 digits of the value at digit %d survived the line breaks", MinLen, i)
		}
	}
	for _, tok := range strings.Fields(strings.ReplaceAll(out, mask, " ")) {
		if dec, err := base64.StdEncoding.DecodeString(tok); err == nil && len(dec) >= MinLen && bytes.Contains(v, dec) {
			t.Fatalf("a line of the output decodes to %d bytes of the value", len(dec))
		}
	}
}

// wrappedValues are values long enough to wrap: a 168-byte sk-proj key, a
// key whose stable digits end 1 to 7 digits into a line (a tail too short
// to be a form on its own), one that fills whole lines exactly, and a
// multi-line PEM-like value.
func wrappedValues() map[string][]byte {
	return map[string][]byte{
		"sk-proj 168 bytes": []byte("sk-proj-" + strings.Repeat("Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", 5)),
		"short tail":        []byte("sk-ant-api03-" + fakeKey(201, 37, keyAlpha)), // 50 bytes: 66 stable digits
		"whole lines":       []byte(fakeKey(202, 96, alnumChars)),                 // 128 digits: 2 lines of 64
		"multi-line pem": []byte("-----BEGIN EC PRIVATE KEY-----\n" + fakeKey(203, 64, alnumChars+"+/") +
			"\n" + fakeKey(204, 56, alnumChars+"+/") + "==\n-----END EC PRIVATE KEY-----\n"),
	}
}

// TestRedactorMasksWrappedBase64: `echo "$KEY" | base64` and friends print
// wrapped lines; none of them, nor the short tail of the last one, may pass.
func TestRedactorMasksWrappedBase64(t *testing.T) {
	t.Parallel()
	for name, v := range wrappedValues() {
		for _, cols := range wrapWidths {
			for _, eol := range []string{"\n", "\r\n"} {
				for _, suffix := range []string{"\n", ""} { // echo | printf %s
					enc := wrapBase64(append(slices.Clone(v), suffix...), cols, eol)
					in := "$ echo \"$KEY\" | base64" + eol + enc + "done" + eol
					t.Run(fmt.Sprintf("%s/%d/%x", name, cols, eol+suffix), func(t *testing.T) {
						t.Parallel()
						s := NewSet(Options{})
						if err := s.Add(secret.New(slices.Clone(v))); err != nil {
							t.Fatal(err)
						}
						assertNoWrappedBase64(t, s.Sanitize(in), v)
						for _, step := range []int{len(in), 1, 7} {
							var out bytes.Buffer
							r := s.newRedactor(&out, newFakeClock(), IdleRelease)
							for i := 0; i < len(in); i += step {
								if _, err := r.Write([]byte(in[i:min(i+step, len(in))])); err != nil {
									t.Fatal(err)
								}
							}
							if err := r.Close(); err != nil {
								t.Fatal(err)
							}
							assertNoWrappedBase64(t, out.String(), v)
							if !strings.HasPrefix(out.String(), "$ echo \"$KEY\" | base64"+eol) || !strings.HasSuffix(out.String(), "done"+eol) {
								t.Fatalf("text around the encoding was changed: %d bytes out", out.Len())
							}
						}
					})
				}
			}
		}
	}
}

// TestRegisterWithRunnerWrappedBase64: the wrapped lines are not forms the
// runner derives, so they are sent as ::add-mask:: too (one line each: a
// command holding a line break would be split by the runner anyway).
func TestRegisterWithRunnerWrappedBase64(t *testing.T) {
	t.Parallel()
	for name, v := range wrappedValues() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			n, err := RegisterWithRunner(&out, secret.New(slices.Clone(v)))
			if err != nil {
				t.Fatal(err)
			}
			got := parseAddMask(t, out.String())
			if len(got) != n || got[0] != string(v) {
				t.Fatalf("%d commands (reported %d), first is not the value", len(got), n)
			}
			stable := stableBase64(base64.RawStdEncoding, v)
			want := 0
			for _, cols := range wrapWidths {
				for i := 0; len(stable) > cols && i+cols <= len(stable); i += cols {
					want++
					if !slices.Contains(got, string(stable[i:i+cols])) {
						t.Errorf("wrapped line %d at %d columns not registered", i/cols, cols)
					}
				}
			}
			if want == 0 {
				t.Fatalf("value too short to wrap: the test proves nothing")
			}
			for _, g := range got[1:] {
				if strings.ContainsAny(g, "\r\n") && !bytes.Contains(v, []byte(g)) {
					t.Errorf("registered a derived form holding a line break (%d bytes)", len(g))
				}
			}
		})
	}
}

// TestTrimmedValueIsAUnit: a value with white space around it (a key pasted
// with a trailing space, tab or newline) is masked and registered trimmed as
// well, with the trimmed value's own encodings.
func TestTrimmedValueIsAUnit(t *testing.T) {
	t.Parallel()
	key := "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2n"
	for _, pad := range []struct{ name, pre, post string }{
		{"trailing space", "", " "},
		{"spaces around", "  ", "  "},
		{"trailing tab", "", "\t"},
		{"leading tab", "\t", ""},
		{"trailing newline", "", "\n"},
		{"crlf and space", " ", "\r\n"},
		{"vertical tab and form feed", "\v", "\f"},
	} {
		t.Run(pad.name, func(t *testing.T) {
			t.Parallel()
			v := pad.pre + key + pad.post
			s := newSetOf(t, Options{}, v)
			for _, form := range []string{
				key,
				base64.StdEncoding.EncodeToString([]byte(key)),
				base64.RawURLEncoding.EncodeToString([]byte(key)),
				hex.EncodeToString([]byte(key)),
			} {
				in := "Authorization: Bearer " + form + "\n"
				var out bytes.Buffer
				writeSplit(t, s.newRedactor(&out, newFakeClock(), IdleRelease), []byte(in), []byte{3, 250, 1})
				// The whole value may take the newline after the key with it,
				// as the runner's mask does.
				got := strings.TrimSuffix(out.String(), "\n")
				if got != "Authorization: Bearer ***" || s.Sanitize(in) != out.String() {
					t.Errorf("form of %d bytes not masked: %d bytes out", len(form), out.Len())
				}
				assertNoForm(t, out.String(), v, key)
			}
			var reg bytes.Buffer
			if _, err := RegisterWithRunner(&reg, secret.FromString(v)); err != nil {
				t.Fatal(err)
			}
			got := parseAddMask(t, reg.String())
			if !slices.Contains(got, key) {
				t.Errorf("the trimmed value is not sent as ::add-mask::")
			}
		})
	}
}

// TestAddRefusesPaddedShortValue: white space does not make a short value
// long enough.
func TestAddRefusesPaddedShortValue(t *testing.T) {
	t.Parallel()
	for _, v := range []string{" abc123 ", "abc123\n\n", "\tabc12\t\t"} {
		err := NewSet(Options{}).Add(secret.FromString(v))
		if !errors.Is(err, ErrShortValue) {
			t.Errorf("Add of a padded %d-byte value: err = %v, want ErrShortValue", len(strings.TrimSpace(v)), err)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(v)) {
			t.Errorf("error discloses the value")
		}
		if err := NewSet(Options{AllowShort: true}).Add(secret.FromString(v)); err != nil {
			t.Errorf("allowed short value refused: %v", err)
		}
	}
}
