package masking

import (
	"bytes"
	"sort"
	"strings"
)

// Detector recognises one vendor's credential format by a literal prefix and
// the shape of what follows it. Detectors are hand-written rather than
// regular expressions so that a scan runs at memory speed.
type Detector struct {
	// Name identifies the detector in findings, e.g. "openai".
	Name string
	// Prefixes the credential starts with. Where several detectors' prefixes
	// match at one position, the longest prefix is tried first.
	Prefixes []string
	// Body is the set of bytes allowed after the prefix.
	Body *[256]bool
	// MinBody and MaxBody bound the length of the body (MaxBody 0: no bound
	// beyond maxToken).
	MinBody, MaxBody int
	// Mixed requires the body to hold a digit, a lower- and an upper-case
	// letter, as random keys do and words like "sk-learn-estimator" do not.
	Mixed bool
	// match, when set, replaces the prefix+body rule: it returns the length
	// of the credential starting at b[0] (whose prefix matched), or 0.
	match func(b []byte) int
}

// maxToken bounds the length of one finding; it is also the overlap between
// chunks of a streamed scan.
const maxToken = 16 << 10

var (
	alnum      = charset("A-Za-z0-9")
	upperDigit = charset("A-Z0-9")
	keyChars   = charset("A-Za-z0-9_-")
	b64url     = charset("A-Za-z0-9_-")
)

// charset builds a byte set from ranges like "A-Za-z0-9_-" (a trailing or
// leading '-' is literal).
func charset(spec string) *[256]bool {
	var set [256]bool
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

// builtinDetectors are the vendor formats keylease knows (reference.md; gitleaks
// rules for the shapes). Each has true- and false-positive examples in
// detect_test.go.
func builtinDetectors() []Detector {
	return []Detector{
		{Name: "openai", Prefixes: []string{"sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-"}, Body: keyChars, MinBody: 40, Mixed: true},
		{Name: "openai", Prefixes: []string{"sk-"}, Body: alnum, MinBody: 32, MaxBody: 64, Mixed: true},
		{Name: "anthropic", Prefixes: []string{"sk-ant-api03-"}, Body: keyChars, MinBody: 80, Mixed: true},
		{Name: "anthropic-admin", Prefixes: []string{"sk-ant-admin01-"}, Body: keyChars, MinBody: 80, Mixed: true},
		{Name: "xai", Prefixes: []string{"xai-"}, Body: alnum, MinBody: 40, Mixed: true},
		{Name: "aws-access-key-id", Prefixes: []string{"AKIA", "ASIA"}, Body: upperDigit, MinBody: 16, MaxBody: 16},
		{Name: "github", Prefixes: []string{"ghp_", "ghs_", "gho_", "ghu_", "ghr_"}, Body: alnum, MinBody: 36, MaxBody: 36},
		{Name: "github-fine-grained", Prefixes: []string{"github_pat_"}, Body: charset("A-Za-z0-9_"), MinBody: 82, MaxBody: 82},
		{Name: "jwt", Prefixes: []string{"eyJ"}, match: matchJWT},
		{Name: "private-key", Prefixes: []string{"-----BEGIN "}, match: matchPEM},
	}
}

// Detectors returns the built-in vendor detectors plus one for every policy
// required_prefix (vendor name -> prefix) that is not already a built-in
// prefix, so a vendor the policy adds is found too.
func Detectors(prefixes map[string]string) []Detector {
	ds := builtinDetectors()
	known := map[string]bool{}
	for _, d := range ds {
		for _, p := range d.Prefixes {
			known[p] = true
		}
	}
	vendors := make([]string, 0, len(prefixes))
	for v := range prefixes {
		vendors = append(vendors, v)
	}
	sort.Strings(vendors)
	for _, v := range vendors {
		p := prefixes[v]
		if len(p) < 2 || known[p] {
			continue
		}
		known[p] = true
		ds = append(ds, Detector{Name: "policy:" + v, Prefixes: []string{p}, Body: keyChars, MinBody: 20, Mixed: true})
	}
	return ds
}

// length is the length of the credential at b[0] for a detector whose
// prefix (plen bytes) matched there, or 0.
func (d *Detector) length(b []byte, plen int) int {
	if d.match != nil {
		return d.match(b)
	}
	limit := len(b)
	if d.MaxBody > 0 {
		limit = min(limit, plen+d.MaxBody+1) // one more to see an overlong body
	}
	limit = min(limit, maxToken)
	i := plen
	var lower, upper, digit bool
	for i < limit && d.Body[b[i]] {
		c := b[i]
		lower = lower || ('a' <= c && c <= 'z')
		upper = upper || ('A' <= c && c <= 'Z')
		digit = digit || ('0' <= c && c <= '9')
		i++
	}
	body := i - plen
	if body < d.MinBody || (d.MaxBody > 0 && body > d.MaxBody) {
		return 0
	}
	if i < len(b) && alnum[b[i]] {
		return 0 // runs on into a longer word: not this format
	}
	if d.Mixed && (!lower || !upper || !digit) {
		return 0
	}
	return i
}

// matchJWT accepts header.payload.signature where header and payload are
// base64url JSON objects (both start "eyJ").
func matchJWT(b []byte) int {
	seg := func(i int) int {
		j := i
		for j < len(b) && j-i < maxToken && b64url[b[j]] {
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

// matchPEM accepts "-----BEGIN [TYPE ]PRIVATE KEY-----" followed by at least
// 64 base64 characters, through the END line when there is one.
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
	n := 0
	for i < len(b) && i < maxToken {
		c := b[i]
		switch {
		case alnum[c] || c == '+' || c == '/' || c == '=':
			n++
		case c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == ':' || c == ',' || c == '-' || c == '\\':
			// line breaks, header lines ("Proc-Type: 4,ENCRYPTED"), escaped newlines in JSON
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
		i++
	}
	if n < 64 {
		return 0
	}
	return i
}
