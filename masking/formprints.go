package masking

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/keylease/keylease/secret"
)

// FormFingerprints returns the hex sha256 and the length of every form of v
// that the redactor masks (the value, its trimmed lines, base64, base64url,
// hex, URL and JSON escapes, …) and that a Scanner's fingerprint matching
// can see as one token. A scan with these as its Fingerprints finds the
// encoded copies of a value too, without holding the value itself (an
// incident's scan of logs and artifacts, where `echo $KEY | base64` is a
// common copy).
func FormFingerprints(v secret.Value) map[string]int {
	out := map[string]int{}
	for _, f := range redactionForms(v.Bytes()) {
		if len(f) < minToken || len(f) > maxToken || !allTokenChars(f) || !mixedClasses(f) {
			continue
		}
		sum := sha256.Sum256(f)
		out[hex.EncodeToString(sum[:])] = len(f)
		clear(sum[:])
	}
	return out
}

func allTokenChars(b []byte) bool {
	tc := *tokenChars
	for _, c := range b {
		if !tc[c] {
			return false
		}
	}
	return true
}
