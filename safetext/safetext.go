// Package safetext is the one value-shape guard that every text keylease
// writes passes first: the job summary, the step outputs, workflow commands
// (::error, ::debug), stderr and the messages of every subcommand.
//
// A text is made of names, paths, refs, times and counts that came from the
// user, the runner or a server. Any of them can be a key pasted into the
// wrong place (a vendor key as a vendor name, a file name, a path setting) or
// a value a server echoed back. Guard.Text first replaces every registered
// form of a value this process holds (the sanitizer of a masking.Set), then
// replaces every token that has the shape of a secret value with a
// placeholder that names the detector, never the text.
package safetext

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/keylease/keylease/detect"
	"github.com/keylease/keylease/masking"
)

// Guard holds what one writer knows about the values of its process.
type Guard struct {
	// Sanitize replaces registered forms with ***; nil replaces none.
	Sanitize func(string) string
	// Scan adds detectors (e.g. a lease's scanner, with the policy's
	// required prefixes); nil: masking's built-in vendor detectors only.
	Scan func([]byte) []masking.Finding
}

// Process is the guard of the process-wide set (masking.Process): what a
// subcommand's messages pass.
func Process() Guard { return Guard{Sanitize: masking.Process().Sanitize} }

// builtin finds the vendor formats (the masking scanner's detectors).
var builtin = masking.NewScanner(masking.ScanOptions{Detectors: true})

// Text returns s as it may be written: registered forms as ***, and every
// value-shaped token as a placeholder. Other text is kept byte for byte.
func (g Guard) Text(s string) string {
	if g.Sanitize != nil {
		s = g.Sanitize(s)
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if isBreak(s, i) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isBreak(s, j) {
			j++
		}
		if det, ok := g.hit(s[i:j]); ok {
			b.WriteString(s[last:i])
			fmt.Fprintf(&b, "[not shown: looks like a key (%s detector)]", det)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Line is Text on one printable line (masking.OneLine): no line break, no
// control character, so the text cannot start a workflow command.
func (g Guard) Line(s string) string { return masking.OneLine(g.Text(s)) }

// Hit reports whether s holds a token of a secret value's shape (built-in
// detectors only) and which detector matched.
func Hit(s string) (detector string, ok bool) { return Guard{}.hit(s) }

func (g Guard) hit(tok string) (string, bool) {
	if strings.IndexByte(tok, '\\') >= 0 {
		// A quoted name (strconv.Quote, OneLine) glues an escape to what
		// follows: "\nsk-..." must be seen as a break, then "sk-...".
		if det, ok := g.hit1(unescaped(tok)); ok {
			return det, true
		}
	}
	return g.hit1(tok)
}

// unescaped is tok with each backslash escape (\n, \x1b, \u2028, ...)
// replaced by a space.
func unescaped(tok string) string {
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '\\' || i+1 == len(tok) {
			b.WriteByte(tok[i])
			continue
		}
		n := 1 // the escape letter
		switch tok[i+1] {
		case 'x':
			n = 3
		case 'u':
			n = 5
		case 'U':
			n = 9
		}
		i = min(i+n, len(tok)-1)
		b.WriteByte(' ')
	}
	return b.String()
}

func (g Guard) hit1(tok string) (string, bool) {
	if det, ok := detect.Name(tok); ok && (det != detect.AWSSecretKey || !strings.Contains(tok, "/")) {
		return det, true
	} else if ok {
		// The AWS secret shape (40 base64 characters, '/' allowed) fits
		// many a path ("/home/runner/work/app/app/configs/..."): in a
		// token with '/' it counts when it is the whole token, or all that
		// follows NAME= or key:, and does not start like an absolute path;
		// otherwise only a component of that shape counts. (An AWS secret
		// with a '/' of its own inside a longer path, or starting with '/',
		// is then not seen; the STS secret keylease holds is registered and
		// sanitized exactly.)
		v := strings.TrimRight(tok, ":.") // "lstat KEY: no such file"
		if i := strings.LastIndexAny(v, "=:"); i >= 0 {
			v = v[i+1:]
		}
		if len(v) == 40 && v[0] != '/' {
			if det, ok := detect.Name(v); ok {
				return det, true
			}
		}
		for _, c := range strings.Split(tok, "/") {
			if det, ok := detect.Name(c); ok {
				return det, true
			}
		}
	}
	scan := builtin.Scan
	if g.Scan != nil {
		scan = g.Scan
	}
	if f := scan([]byte(tok)); len(f) > 0 {
		return f[0].Detector, true
	}
	// A key used as a vendor name comes back as its variable name
	// (registry.EnvVarFor: upper case, '-' as '_', "_API_KEY" appended).
	if v, ok := strings.CutSuffix(tok, "_API_KEY"); ok && strings.ContainsRune(v, '_') {
		if det, ok := detect.Name(strings.ReplaceAll(strings.ToLower(v), "_", "-")); ok {
			return det, true
		}
	}
	return "", false
}

// isBreak reports whether s[i] ends a token: white space, and the
// punctuation that frames a name in a message, a table or a command
// (quotes, brackets, '|', '`', ',', ';'). Characters that occur inside keys,
// paths and URLs ('-', '_', '.', '/', '+', '=', ':', '~', '%') do not, nor
// does '\\' (see unescaped).
func isBreak(s string, i int) bool {
	c := s[i]
	if c >= 0x80 {
		return false // part of a UTF-8 sequence; the sequence stays in its token
	}
	return unicode.IsSpace(rune(c)) || c < 0x20 || strings.IndexByte("\"'`|,;()[]{}<>", c) >= 0
}
