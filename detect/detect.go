// Package detect recognises credentials by their shape. It holds the one
// table of vendor rules (prefix, body charset, length bounds, examples) that
// the output scanner, the run record's verification and the configuration
// and input guards all use, so they cannot disagree on what a key looks
// like. It imports nothing from this module.
package detect

import (
	"bytes"
	"math/bits"
	"slices"
	"strings"
)

// MaxToken bounds the length of one credential; it is also the overlap a
// streamed scan needs between chunks.
const MaxToken = 16 << 10

// Charset is a set of bytes.
type Charset [256]bool

// NewCharset builds a set from ranges like "A-Za-z0-9_-" (a trailing or
// leading '-' is literal).
func NewCharset(spec string) *Charset {
	var set Charset
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			for c := int(spec[i]); c <= int(spec[i+2]); c++ {
				set[c] = true
			}
			i += 2
			continue
		}
		set[spec[i]] = true
	}
	return &set
}

var (
	alnum      = NewCharset("A-Za-z0-9")
	upperDigit = NewCharset("A-Z0-9")
	keyChars   = NewCharset("A-Za-z0-9_-")
	wordChars  = NewCharset("A-Za-z0-9_")
	b64url     = NewCharset("A-Za-z0-9_-")
)

// classOf maps a byte to its character class bit: lower, upper or digit.
var classOf = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = 2
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 4
	}
	return t
}()

// Rule recognises one credential form: a literal prefix and the shape of
// the body after it, or a matcher of its own. Rules are hand-written rather
// than regular expressions so that a scan runs at memory speed.
type Rule struct {
	// ID names the rule in findings and messages, e.g. "openai-project-key".
	// It is safe to print; the matched text never is.
	ID string
	// Vendor is who issues the credential, e.g. "openai".
	Vendor string
	// Prefixes the credential starts with, at the start of a word.
	Prefixes []string
	// Body is the set of bytes allowed after the prefix.
	Body *Charset
	// MinBody and MaxBody bound the body's length (MaxBody 0: MaxToken).
	MinBody, MaxBody int
	// Classes is how many of lower-case letters, upper-case letters and
	// digits the body must hold: random keys hold all three, words and
	// identifiers ("sk-learn-estimator") and hex digests do not.
	Classes int
	// Marker, when set, must occur in the body with at least MarkerSide
	// body bytes before and after it.
	Marker     string
	MarkerSide int
	// ExampleSuffix, when set, marks the vendor's documented example
	// credentials: a match ending in it is a public value that works
	// nowhere (AWS's documentation ids all end in "EXAMPLE"; a random id
	// does once in 36^7). At still reports it, so output masking and the
	// run record's checks stay strict; IsExample lets a source scan pass
	// it over, as gitleaks' allow-list does.
	ExampleSuffix string
	// match, when set, replaces the prefix+body rule: the length of the
	// credential at b[0] (where a prefix matched), or 0.
	match func(b []byte) int
	// TruePositives and FalsePositives are examples the tests check,
	// written as templates: "{N:class}" stands for N random characters of a
	// class and "{N*c}" for c repeated N times (see package detecttest), so
	// this source holds no key-shaped literal.
	TruePositives, FalsePositives []string
}

// Len returns the length of the credential at b[0] when r matches there
// with its prefix of plen bytes, or 0.
func (r *Rule) Len(b []byte, plen int) int {
	if r.match != nil {
		return r.match(b)
	}
	limit := len(b)
	if r.MaxBody > 0 {
		limit = min(limit, plen+r.MaxBody+1) // one more to see an overlong body
	}
	limit = min(limit, MaxToken)
	body := r.Body // a local copy of the pointer: no reload per byte
	i := plen
	var cls uint8
	for i < limit && body[b[i]] {
		cls |= classOf[b[i]]
		i++
	}
	n := i - plen
	if n < r.MinBody || (r.MaxBody > 0 && n > r.MaxBody) {
		return 0
	}
	if i < len(b) && alnum[b[i]] {
		return 0 // runs on into a longer word: not this form
	}
	if bits.OnesCount8(cls) < r.Classes {
		return 0
	}
	if r.Marker != "" {
		k := bytes.Index(b[plen:i], []byte(r.Marker))
		if k < r.MarkerSide || n-k-len(r.Marker) < r.MarkerSide {
			return 0
		}
	}
	return i
}

// IsExample reports whether match, a credential r matched, is one of the
// vendor's documented examples (see ExampleSuffix).
func (r *Rule) IsExample(match []byte) bool {
	return r.ExampleSuffix != "" && bytes.HasSuffix(match, []byte(r.ExampleSuffix))
}

// candidate is a rule to try where one of its prefixes matched.
type candidate struct {
	rule   int
	prefix string
}

// Set is a compiled list of rules. It is safe for concurrent use.
type Set struct {
	rules []Rule
	// byFirst lists, for each first byte, the prefixes starting with it:
	// longest first, then in table order, so "sk-ant-api03-" is tried
	// before "sk-".
	byFirst  [256][]candidate
	prefixes []string
}

// NewSet compiles rules.
func NewSet(rules []Rule) *Set {
	s := &Set{rules: slices.Clone(rules)}
	seen := map[string]bool{}
	for i, r := range s.rules {
		for _, p := range r.Prefixes {
			if p == "" {
				continue
			}
			s.byFirst[p[0]] = append(s.byFirst[p[0]], candidate{i, p})
			if !seen[p] {
				seen[p] = true
				s.prefixes = append(s.prefixes, p)
			}
		}
	}
	for c := range s.byFirst {
		slices.SortStableFunc(s.byFirst[c], func(a, b candidate) int { return len(b.prefix) - len(a.prefix) })
	}
	return s
}

// Rule returns rule i.
func (s *Set) Rule(i int) *Rule { return &s.rules[i] }

// Prefixes returns every distinct prefix of the set's rules, for a search
// that finds where credentials may start.
func (s *Set) Prefixes() []string { return slices.Clone(s.prefixes) }

// At returns the rule that matches at b[0] and the credential's length, or
// n == 0. The caller checks that b[0] starts a word.
func (s *Set) At(b []byte) (rule, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	for _, c := range s.byFirst[b[0]] {
		if len(b) < len(c.prefix) || string(b[:len(c.prefix)]) != c.prefix {
			continue
		}
		if n := s.rules[c.rule].Len(b, len(c.prefix)); n > 0 {
			return c.rule, n
		}
	}
	return 0, 0
}

// Find returns the first credential in b that starts a word: its rule,
// offset and length, or n == 0. It tries every byte, which suits short
// texts (names, settings, messages); a scanner of large inputs finds the
// candidate starts with Prefixes and calls At.
func (s *Set) Find(b []byte) (rule, start, n int) {
	for i := range b {
		if len(s.byFirst[b[i]]) == 0 || (i > 0 && alnum[b[i-1]]) {
			continue
		}
		if r, n := s.At(b[i:]); n > 0 {
			return r, i, n
		}
	}
	return 0, 0, 0
}

// PolicyRule is the rule for a policy's required_prefix of vendor: the
// prefix followed by at least 20 key characters of all three classes.
func PolicyRule(vendor, prefix string) Rule {
	return Rule{ID: "policy:" + vendor, Vendor: vendor, Prefixes: []string{prefix}, Body: keyChars, MinBody: 20, Classes: 3,
		TruePositives:  []string{prefix + "{32:alnum}"},
		FalsePositives: []string{prefix + "short", "x" + prefix + "{32:alnum}"}}
}

// WithPolicy returns the built-in rules plus one PolicyRule for every
// policy required_prefix (vendor -> prefix) that is not a built-in prefix
// already, so a vendor the policy adds is found too. Prefixes shorter than
// two bytes are skipped: they would match everywhere.
func WithPolicy(prefixes map[string]string) []Rule {
	rules := Builtin()
	known := map[string]bool{}
	for _, r := range rules {
		for _, p := range r.Prefixes {
			known[p] = true
		}
	}
	vendors := make([]string, 0, len(prefixes))
	for v := range prefixes {
		vendors = append(vendors, v)
	}
	slices.Sort(vendors)
	for _, v := range vendors {
		p := prefixes[v]
		if len(p) < 2 || known[p] {
			continue
		}
		known[p] = true
		rules = append(rules, PolicyRule(v, p))
	}
	return rules
}

// matchJWT accepts header.payload.signature where header and payload are
// base64url JSON objects (both start "eyJ"); the signature may be empty
// (an unsecured JWT).
func matchJWT(b []byte) int {
	seg := func(i int) int {
		j := i
		for j < len(b) && j-i < MaxToken && b64url[b[j]] {
			j++
		}
		return j
	}
	h := seg(0)
	if h < 13 || h >= len(b) || b[h] != '.' || !bytes.HasPrefix(b[h+1:], []byte("eyJ")) {
		return 0
	}
	p := seg(h + 1)
	if p-h-1 < 13 || p >= len(b) || b[p] != '.' {
		return 0
	}
	return seg(p + 1)
}

// pemSpaceAfter are the bytes a space may follow anywhere in a PEM block:
// indentation (YAML block scalars) and header lines.
var pemSpaceAfter = NewCharset("\n\r\t :")

// matchPEM accepts "-----BEGIN [TYPE ]PRIVATE KEY-----" followed by at least
// 64 base64 characters, through the END line when there is one. A header
// alone, or "..." as its body, is documentation, not a key.
func matchPEM(b []byte) int {
	const begin = "-----BEGIN "
	rest := b[len(begin):]
	eol := bytes.IndexByte(rest[:min(len(rest), 64)], '-')
	if eol < 0 {
		return 0
	}
	label := string(rest[:eol])
	if !strings.HasSuffix(label, "PRIVATE KEY") || !bytes.HasPrefix(rest[eol:], []byte("-----")) {
		return 0
	}
	for _, c := range []byte(label) {
		if c != ' ' && !upperDigit[c] {
			return 0
		}
	}
	i := len(begin) + eol + 5
	n, run := 0, 0 // base64 characters in all, and since the last separator
	for i < len(b) && i < MaxToken {
		c := b[i]
		switch {
		case alnum[c] || c == '+' || c == '/' || c == '=':
			n++
			run++
			i++
			continue
		case c == ' ' || c == '\t':
			// Indentation, a header line's "Proc-Type: 4,ENCRYPTED", the
			// end of the BEGIN line, or a body line of 16+ characters (a
			// key whose line breaks became spaces, as `echo $KEY` prints
			// it). A space after a short word is prose or a log line.
			if !pemSpaceAfter[b[i-1]] && b[i-1] != '-' && run < 16 {
				if n < 64 {
					return 0
				}
				return i
			}
		case c == '\r' || c == '\n' || c == ':' || c == ',' || c == '-' || c == '\\':
			// line breaks, header lines, escaped newlines in JSON
			if c == '-' && bytes.HasPrefix(b[i:], []byte("-----END ")) {
				end := bytes.Index(b[i+9:min(len(b), i+9+64)], []byte("-----"))
				if n < 64 {
					return 0
				}
				if end >= 0 {
					return i + 9 + end + 5
				}
				return i
			}
		default:
			if n < 64 {
				return 0
			}
			return i
		}
		run = 0
		i++
	}
	if n < 64 {
		return 0
	}
	return i
}
