package mintname

import (
	"testing"
	"time"
)

func TestFormatParse(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	s := Format("openai", "ci-eval", "1234567890-2", exp)
	if s != "keylease-lease-openai-ci-eval-12345678902-exp1796137200" {
		t.Fatalf("Format = %q", s)
	}
	n, ok := Parse(s)
	if !ok || n.Vendor != "openai" || n.Env != "ci-eval" || n.Run != "12345678902" || !n.Expires.Equal(exp) {
		t.Fatalf("Parse(%q) = %+v, %v", s, n, ok)
	}
	if n.Orphaned(exp.Add(time.Minute), 5*time.Minute) || !n.Orphaned(exp.Add(6*time.Minute), 5*time.Minute) {
		t.Fatal("Orphaned is wrong around expiry + grace")
	}
}

func TestParseRefusesOtherNames(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"keylease-openai-ci-0123456789ab", // a rotation's key: stored, not orphaned
		"keylease-lease-openai-ci-run-expNaN",
		"keylease-lease-openai--run-exp100",
		"keylease-lease-openai-ci-exp100",
		"my-key",
		"",
	} {
		if n, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %+v, want not a lease name", s, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("keylease-lease-xai-ci-42-exp1796137200")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := Parse(s)
		if !ok {
			return
		}
		if back, ok2 := Parse(Format(n.Vendor, n.Env, n.Run, n.Expires)); !ok2 || back != n {
			t.Fatalf("round trip of %q: %+v -> %+v", s, n, back)
		}
	})
}
