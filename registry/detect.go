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
	for _, run := range alnumRuns(s) {
		if highEntropy(run) {
			return DetectEntropy, true
		}
	}
	return "", false
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

func alnumRuns(s string) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
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

// highEntropy flags a run of 20+ letters and digits that interleaves both and whose
// characters are spread like random key material. Words, paths, ARNs (split at
// their separators) and account ids stay below it.
func highEntropy(run string) bool {
	if len(run) < 20 {
		return false
	}
	var letters, digits, switches int
	var counts [256]int
	for i := 0; i < len(run); i++ {
		c := run[i]
		counts[c]++
		isDigit := c >= '0' && c <= '9'
		if isDigit {
			digits++
		} else {
			letters++
		}
		if i > 0 && isDigit != (run[i-1] >= '0' && run[i-1] <= '9') {
			switches++
		}
	}
	// Key material mixes letters and digits throughout; a word followed by a
	// year ("rotation2026") switches once.
	if letters == 0 || digits < 2 || switches < 3 {
		return false
	}
	h := 0.0
	n := float64(len(run))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h >= 3.5
}
