package registry

import (
	"math"
	"strings"
)

// Detector names returned by LooksLikeValue. They say which rule matched and
// are safe to print; the matched text never is.
const (
	DetectOpenAI     = "openai-key"
	DetectAnthropic  = "anthropic-key"
	DetectXAI        = "xai-key"
	DetectAWSKeyID   = "aws-access-key-id"
	DetectAWSSecret  = "aws-secret-key"
	DetectGitHub     = "github-token"
	DetectGitLab     = "gitlab-token"
	DetectGoogle     = "google-api-key"
	DetectJWT        = "jwt"
	DetectPrivateKey = "private-key"
	DetectEntropy    = "high-entropy"
)

// vendorPrefixes are checked in order (longest first where they overlap). A
// prefix alone (policy required_prefix "sk-") is fine; a prefix followed by
// minBody token characters is a key.
var vendorPrefixes = []struct {
	prefix, detector string
	minBody          int
}{
	{"sk-ant-", DetectAnthropic, 16},
	{"sk-", DetectOpenAI, 16},
	{"xai-", DetectXAI, 16},
	{"github_pat_", DetectGitHub, 20},
	{"ghp_", DetectGitHub, 20},
	{"gho_", DetectGitHub, 20},
	{"ghu_", DetectGitHub, 20},
	{"ghs_", DetectGitHub, 20},
	{"ghr_", DetectGitHub, 20},
	{"glpat-", DetectGitLab, 20},
	{"AIza", DetectGoogle, 30},
}

// LooksLikeValue reports whether s contains text that looks like a secret
// value rather than a reference or a label, and which detector matched. It is
// deliberately eager: configuration files name secrets, they never hold them.
func LooksLikeValue(s string) (detector string, ok bool) {
	if strings.Contains(s, "-----BEGIN") && strings.Contains(s, "PRIVATE KEY") {
		return DetectPrivateKey, true
	}
	for i := 0; i < len(s); i++ {
		if i > 0 && isAlnum(s[i-1]) {
			continue // a prefix must start a word: "risk-…" is not "sk-…"
		}
		rest := s[i:]
		for _, vp := range vendorPrefixes {
			if strings.HasPrefix(rest, vp.prefix) && tokenRun(rest[len(vp.prefix):]) >= vp.minBody {
				return vp.detector, true
			}
		}
		if (strings.HasPrefix(rest, "AKIA") || strings.HasPrefix(rest, "ASIA")) && len(rest) >= 20 &&
			upperDigitRun(rest[4:]) == 16 && (len(rest) == 20 || !isAlnum(rest[20])) {
			return DetectAWSKeyID, true
		}
		if strings.HasPrefix(rest, "eyJ") {
			if n := tokenRun(rest); n >= 10 && n < len(rest) && rest[n] == '.' && strings.HasPrefix(rest[n+1:], "eyJ") {
				return DetectJWT, true
			}
		}
	}
	for _, run := range runs(s, isEntropyChar) {
		if highEntropy(run) {
			return DetectEntropy, true
		}
	}
	for _, run := range runs(s, isBase64Char) {
		if awsSecretShaped(run) {
			return DetectAWSSecret, true
		}
	}
	return "", false
}

// isEntropyChar: letters, digits and the base64 symbols '+' and '='. '/' is
// left out here because it separates path segments in refs and labels; the
// AWS secret key rule below covers runs that include it.
func isEntropyChar(c byte) bool { return isAlnum(c) || c == '+' || c == '=' }

func isBase64Char(c byte) bool { return isAlnum(c) || c == '+' || c == '/' }

// awsSecretShaped reports whether a base64 run holds an AWS secret access
// key's shape: exactly 40 characters, bounded by the run's ends or by '/'
// (so "kv://openai/<key>" is caught), mixing upper and lower case, with
// characters spread like random material. It needs no digit: one random key
// in a few hundred has fewer than two, which the general rule requires. A
// random key scores about 4.9 bits per character and practically never
// below 4; 3.5 leaves room while repeated or word-like text stays below.
func awsSecretShaped(run string) bool {
	const n = 40
	for i := 0; i+n <= len(run); i++ {
		if i > 0 && run[i-1] != '/' || i+n < len(run) && run[i+n] != '/' {
			continue
		}
		if w := run[i : i+n]; mixedCase(w) && entropy(w) >= 3.5 {
			return true
		}
	}
	return false
}

func mixedCase(s string) bool {
	var upper, lower bool
	for i := 0; i < len(s); i++ {
		upper = upper || s[i] >= 'A' && s[i] <= 'Z'
		lower = lower || s[i] >= 'a' && s[i] <= 'z'
	}
	return upper && lower
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// tokenRun is the length of the leading run of characters keys are made of.
func tokenRun(s string) int {
	n := 0
	for n < len(s) && (isAlnum(s[n]) || s[n] == '-' || s[n] == '_') {
		n++
	}
	return n
}

func upperDigitRun(s string) int {
	n := 0
	for n < len(s) && (s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return n
}

// runs splits s into maximal runs of characters in the class in.
func runs(s string, in func(byte) bool) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && in(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			runs = append(runs, s[start:i])
			start = -1
		}
	}
	return runs
}

// highEntropy flags a run of 20+ letters and digits (or + and =, counted with
// the digits) that interleaves both and whose characters are spread like
// random key material. Words, paths, ARNs (split at their separators) and
// account ids stay below it.
func highEntropy(run string) bool {
	if len(run) < 20 {
		return false
	}
	var letters, digits, switches int
	for i := 0; i < len(run); i++ {
		c := run[i]
		isDigit := !isLetter(c)
		if isDigit {
			digits++
		} else {
			letters++
		}
		if i > 0 && isDigit != !isLetter(run[i-1]) {
			switches++
		}
	}
	// Key material mixes letters and digits throughout; a word followed by a
	// year ("rotation2026") switches once.
	if letters == 0 || digits < 2 || switches < 3 {
		return false
	}
	return entropy(run) >= 3.5
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// entropy is the Shannon entropy of s's bytes, in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
