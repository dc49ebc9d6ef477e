package masking

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/keylease/keylease/secret"
)

// newSetOf returns a Set holding vals.
func newSetOf(t testing.TB, opts Options, vals ...string) *Set {
	t.Helper()
	s := NewSet(opts)
	for _, v := range vals {
		if err := s.Add(secret.FromString(v)); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	return s
}

// TestRunnerVectors replays the secret masker test vectors of actions/runner
// (src/Test/L0/HostContextL0.cs, DefaultSecretMaskers).
func TestRunnerVectors(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{AllowShort: true},
		"Password123!", `Pass"word"123!`, "Pass word 123!", "Pass<word>123!", "Pass'word'123!",
		`"Password123!!"`, `"short"`)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ in, want string }{
		{"123Password123!123", "123***123"},
		{"password123", "password123"},
		{`123Pass\"word\"123!123`, "123***123"},
		{"123Pass%20word%20123%21123", "123***123"},
		{"123Pass&lt;word&gt;123!123", "123***123"},
		{"123Pass''word''123!123", "123***123"},
		{b64(":Password123!"), "OlBh***"},
		{b64("a:Password123!"), "YTpQ***"},
		{b64("ab:Password123!"), "YWI6***"},
		{b64("abc:Password123!"), "YWJjOlBh***"},
		{b64("abcd:Password123!"), "YWJjZDpQ***"},
		{b64("abcde:Password123!"), "YWJjZGU6***"},
		{"123Password123!!123", "123***123"},
		{"123short123", "123short123"},
		{`123"short"123`, "123***123"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := s.Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			var out bytes.Buffer
			r := s.NewRedactor(&out)
			for i := range len(tt.in) { // one byte per write: the hardest split
				if _, err := r.Write([]byte{tt.in[i]}); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("redactor(%q) = %q, want %q", tt.in, out.String(), tt.want)
			}
		})
	}
}

func TestRunnerEncoders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func([]byte) []byte
		in   string
		want string
	}{
		{"base64 shift0", func(v []byte) []byte { return base64Shift(v, 0) }, "abcd", "YWJjZA=="},
		{"base64 shift1", func(v []byte) []byte { return base64Shift(v, 1) }, "abcd", "YmNk"},
		{"base64 shift2", func(v []byte) []byte { return base64Shift(v, 2) }, "abcd", "Y2Q="},
		{"base64 shift beyond length", func(v []byte) []byte { return base64Shift(v, 2) }, "ab", "YWI="},
		{"json newtonsoft", newtonsoftJSONEscape, "a\"b\\c\nd\x01é\u2028<&>", `a\"b\\c\nd\u0001é\u2028<&>`},
		{"json python", pythonJSONEscape, "é😀\t<", `\u00e9\ud83d\ude00\t<`},
		{"json go", goJSONEscape, "<a&b>\x01é", `\u003ca\u0026b\u003e\u0001é`},
		{"uri dotnet", dotnetURIEscape, "a b+c~d!é", "a%20b%2Bc~d%21%C3%A9"},
		{"uri go query", goQueryEscape, "a b+c~d!", "a+b%2Bc~d%21"},
		{"xml", xmlEscape, `<a href="x">&'`, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"},
		{"trim quotes long", trimDoubleQuotes, `"12345678"`, "12345678"},
		{"trim quotes short", trimDoubleQuotes, `"123456"`, ""},
		{"ps pre", func(v []byte) []byte { return powerShellPre(v, 6) }, "secretpart1&secretpart2&secretpart3", "secretpart1&secretpart2&"},
		{"ps pre plus", func(v []byte) []byte { return powerShellPre(v, 6) }, "secretpart1&+secretpart2&secretpart3", "secretpart1&+"},
		{"ps post", func(v []byte) []byte { return powerShellPost(v, 6) }, "secretpart1&secretpart2&secretpart3", "secretpart3"},
		{"ps post plus", func(v []byte) []byte { return powerShellPost(v, 6) }, "secretpart1&+secretpart2&secretpart3", "ecretpart2&secretpart3"},
		{"ps post plus at end", func(v []byte) []byte { return powerShellPost(v, 6) }, "secretpart1&+", ""},
		{"stable base64", func(v []byte) []byte { return stableBase64(base64.RawStdEncoding, v) }, "abcd", "YWJjZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(tt.fn([]byte(tt.in))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := string(goQueryEscape([]byte("a b/c?d=é"))); got != url.QueryEscape("a b/c?d=é") {
		t.Errorf("goQueryEscape differs from url.QueryEscape: %q", got)
	}
}

// TestFormsAreMasked checks every form of assorted values, alone and inside
// text, and the line forms of multi-line values.
func TestFormsAreMasked(t *testing.T) {
	t.Parallel()
	values := []string{
		"sk-proj-AbCdEfGh1234567890_xyz-QRST",
		"line-one-secret\r\nline-two-secret\n  short\n",
		`quo"te's & per%cent <tag> é 😀 \ back`,
		"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
	}
	for _, v := range values {
		t.Run(v[:8], func(t *testing.T) {
			t.Parallel()
			s := newSetOf(t, Options{}, v)
			forms := redactionForms([]byte(v))
			for _, f := range forms {
				text := "before " + string(f) + " after"
				got := s.Sanitize(text)
				if strings.Contains(got, string(f)) || !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
					t.Errorf("form not masked cleanly: got %q", got)
				}
			}
			for _, l := range lines([]byte(v)) {
				if len(l) >= MinLen && strings.Contains(s.Sanitize("x"+string(l)+"y"), string(l)) {
					t.Errorf("line %q not masked", l)
				}
			}
			// echo "$V" | base64: base64 of the value plus a newline.
			enc := base64.StdEncoding.EncodeToString([]byte(v + "\n"))
			if got := s.Sanitize(enc); strings.Contains(got, enc[:len(enc)-4]) {
				t.Errorf("base64 of value+newline kept its stable part: %q", got)
			}
			hx := hex.EncodeToString([]byte(v))
			if got := s.Sanitize("0x" + hx); got != "0x***" {
				t.Errorf("hex: got %q", got)
			}
		})
	}
}

func TestAddRefusesShortValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		val     string
		opts    Options
		wantErr bool
	}{
		{"short refused", "abc1234", Options{}, true},
		{"short allowed", "abc1234", Options{AllowShort: true}, false},
		{"eight ok", "abc12345", Options{}, false},
		{"blank refused", "   \n\t ", Options{AllowShort: true}, true},
		{"too long refused", strings.Repeat("k", MaxLen+1), Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewSet(tt.opts)
			err := s.Add(secret.FromString(tt.val))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Add err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tt.val)) && strings.TrimSpace(tt.val) != "" {
				t.Errorf("error discloses the value: %q", err)
			}
			values, forms := s.Stats()
			if tt.wantErr && (values != 0 || forms != 0) {
				t.Errorf("refused value counted: %d values, %d forms", values, forms)
			}
			if !tt.wantErr && (values != 1 || forms < 5) {
				t.Errorf("Stats = %d values, %d forms", values, forms)
			}
		})
	}
}
