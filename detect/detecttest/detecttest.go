// Package detecttest expands detector example templates and loads the
// shared corpus of true and false positives (detect/testdata/corpus.txt)
// that every entry point of detection is tested against.
package detecttest

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// classes are the character classes a template may draw from.
var classes = map[string]string{
	"alnum": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"key":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
	"word":  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_",
	"b64":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	"b32":   "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
	"hex":   "0123456789abcdef",
	"lower": "abcdefghijklmnopqrstuvwxyz",
}

// Expand replaces "{N:class}" with N characters drawn from class (alnum,
// key, word, b64, b32, hex, lower) and "{N*c}" with c repeated N times.
// The characters are pseudo-random but fixed for a template, so a failure
// repeats; the keys it builds have real formats' shapes and authenticate
// nowhere. Any other brace is literal.
func Expand(tmpl string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(tmpl))
	r := rand.New(rand.NewPCG(h.Sum64(), 1)) // #nosec G404 -- deterministic fake keys on purpose
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == '{' {
			if end := strings.IndexByte(tmpl[i:], '}'); end > 0 {
				if s, ok := expandOne(tmpl[i+1:i+end], r); ok {
					b.WriteString(s)
					i += end
					continue
				}
			}
		}
		b.WriteByte(tmpl[i])
	}
	return b.String()
}

func expandOne(spec string, r *rand.Rand) (string, bool) {
	if n, c, ok := strings.Cut(spec, "*"); ok && len(c) == 1 {
		k, err := strconv.Atoi(n)
		if err != nil || k <= 0 {
			return "", false
		}
		return strings.Repeat(c, k), true
	}
	n, class, ok := strings.Cut(spec, ":")
	alphabet, known := classes[class]
	k, err := strconv.Atoi(n)
	if !ok || !known || err != nil || k <= 0 {
		return "", false
	}
	out := make([]byte, k)
	for i := range out {
		out[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(out), true
}

// Case is one corpus line: a text and the verdicts the entry points must
// give for it.
type Case struct {
	Line int
	Text string // expanded
	// Scan is the rule id a scan of Text must report, once; "" for none.
	Scan string
	// Name is what detect.Name (and so registry.LooksLikeValue) must
	// return for Text; "" for not value-like.
	Name string
	// Example: Scan's finding is a vendor's documented example credential
	// (detect.Rule.IsExample), which a scan with masking.ScanOptions'
	// SkipExamples (keylease scan) does not report.
	Example bool
}

// Corpus loads detect/testdata/corpus.txt. Each line is
//
//	SCAN<TAB>NAME<TAB>"quoted Go string template"[<TAB>example]
//
// with "-" for no finding and "=" in NAME for the same as SCAN; a fourth
// column "example" marks a vendor's documented example credential.
func Corpus() ([]Case, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("detecttest: cannot locate the corpus (no caller information)")
	}
	path := filepath.Join(filepath.Dir(self), "..", "testdata", "corpus.txt")
	f, err := os.Open(path) // #nosec G304 -- the corpus beside this package
	if err != nil {
		return nil, fmt.Errorf("detecttest: open corpus: %w", err)
	}
	defer func() { _ = f.Close() }()
	var out []Case
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// A quoted Go string holds no raw tab: a fourth column is
		// unambiguous.
		parts := strings.Split(line, "\t")
		if len(parts) < 3 || len(parts) > 4 || len(parts) == 4 && parts[3] != "example" {
			return nil, fmt.Errorf("detecttest: corpus line %d: want SCAN<TAB>NAME<TAB>\"text\"[<TAB>example]", n)
		}
		text, err := strconv.Unquote(parts[2])
		if err != nil {
			return nil, fmt.Errorf("detecttest: corpus line %d: text is not a quoted Go string: %w", n, err)
		}
		c := Case{Line: n, Text: Expand(text), Scan: parts[0], Name: parts[1], Example: len(parts) == 4}
		if c.Example && c.Scan == "-" {
			return nil, fmt.Errorf("detecttest: corpus line %d: an example must be a finding of some rule", n)
		}
		if c.Scan == "-" {
			c.Scan = ""
		}
		switch c.Name {
		case "=":
			c.Name = c.Scan
		case "-":
			c.Name = ""
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("detecttest: read corpus: %w", err)
	}
	return out, nil
}
