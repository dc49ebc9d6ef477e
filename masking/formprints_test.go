package masking

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keylease/keylease/secret"
)

// TestFormFingerprintsFindEncodedCopies: a scanner given only the
// fingerprints of a value's forms finds the raw value, its base64 and its
// hex in a log, and the fingerprints themselves hold no form of the value.
func TestFormFingerprintsFindEncodedCopies(t *testing.T) {
	t.Parallel()
	const key = "sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0JfRw4Tq7Zx"
	fps := FormFingerprints(secret.FromString(key))
	if len(fps) < 3 {
		t.Fatalf("%d fingerprints, want at least the raw, base64 and hex forms", len(fps))
	}
	refs := map[string]string{}
	var lengths []int
	var all []byte
	for h, n := range fps {
		refs[h] = "openai.ci (revoked)"
		lengths = append(lengths, n)
		all = append(all, h...)
	}
	// (leakcheck imports this package; the forms are checked directly.)
	for _, f := range redactionForms([]byte(key)) {
		if len(f) >= 8 && strings.Contains(string(all), string(f)) {
			t.Fatalf("the fingerprints hold a form of the value")
		}
	}
	sc := NewScanner(ScanOptions{Fingerprints: refs, FingerprintLengths: lengths})
	for name, copy := range map[string]string{
		"raw":    key,
		"base64": base64.StdEncoding.EncodeToString([]byte(key)),
		"hex":    hex.EncodeToString([]byte(key)),
	} {
		log := "2026-12-01T10:00:00Z step 3: token " + copy + " sent\n"
		if f := sc.Scan([]byte(log)); len(f) != 1 || f[0].Detector != "fingerprint" {
			t.Errorf("%s copy: findings %+v, want one fingerprint", name, f)
		}
	}
	if f := sc.Scan([]byte("nothing here but sk-proj-OTHERq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0JfRw4Tq7Zx\n")); len(f) != 0 {
		t.Errorf("another key matched: %+v", f)
	}
}
