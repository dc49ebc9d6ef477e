package registry

import "github.com/keylease/keylease/detect"

// LooksLikeValue reports whether s contains text that looks like a secret
// value rather than a reference or a label, and which detector matched (a
// rule id of package detect, safe to print; the matched text never is). It
// is deliberately eager: configuration files name secrets, they never hold
// them. Vendor keys are recognised by the same rules as the output scanner
// uses, so check and scan agree on them.
func LooksLikeValue(s string) (detector string, ok bool) { return detect.Name(s) }

// isAlnum is for the parser-message and fuzz helpers of this package.
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
