package detect

import "math"

// IDs of the rules Name adds for text that should be a name.
const (
	HighEntropy  = "high-entropy"
	AWSSecretKey = "aws-secret-key"
)

// builtin is the compiled built-in table, shared by every caller of Name.
var builtin = NewSet(Builtin())

// Name reports whether s, text that names something (a reference, a label,
// a setting, a path, a message), holds what looks like a secret value, and
// which rule matched. It runs the built-in rules, as a scan of output does,
// and then two rules only a name can afford: output is full of digests and
// base64, while a name never holds a run of random characters.
func Name(s string) (id string, ok bool) {
	if len(s) == 0 {
		return "", false
	}
	if r, _, n := builtin.Find([]byte(s)); n > 0 {
		return builtin.rules[r].ID, true
	}
	for _, run := range runs(s, isEntropyChar) {
		if highEntropy(run) {
			return HighEntropy, true
		}
	}
	for _, run := range runs(s, isBase64Char) {
		if awsSecretShaped(run) {
			return AWSSecretKey, true
		}
	}
	return "", false
}

func isAlnum(c byte) bool { return alnum[c] }

// isEntropyChar: letters, digits and the base64 symbols '+' and '='. '/' is
// left out here because it separates path segments in refs and labels; the
// AWS secret key rule below covers runs that include it.
func isEntropyChar(c byte) bool { return isAlnum(c) || c == '+' || c == '=' }

func isBase64Char(c byte) bool { return isAlnum(c) || c == '+' || c == '/' }

// awsSecretShaped reports whether a base64 run holds an AWS secret access
// key's shape: exactly 40 characters, bounded by the run's ends or by '/'
// (so "kv://openai/<key>" is caught), mixing upper and lower case, with
// characters spread like random material. It needs no digit: one random key
// in a few hundred has fewer than two, which highEntropy requires. A random
// key scores about 4.9 bits per character and practically never below 4;
// 3.5 leaves room while repeated or word-like text stays below.
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
	var cls uint8
	for i := 0; i < len(s); i++ {
		cls |= classOf[s[i]]
	}
	return cls&3 == 3
}

// runs splits s into maximal runs of characters in the class in.
func runs(s string, in func(byte) bool) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && in(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	return out
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
		isDigit := !isLetter(run[i])
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

func isLetter(c byte) bool { return classOf[c]&3 != 0 }

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
