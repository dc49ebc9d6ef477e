package record

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

// TestSealWithMaskingScanner uses the scanner keylease runs: every form of
// the leased values plus the vendor detectors. The goldens must pass it (no
// false positive blocks a record), and each kind of slip must be caught.
func TestSealWithMaskingScanner(t *testing.T) {
	t.Parallel()
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(leaked)); err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Set: set, Detectors: true,
		Prefixes: map[string]string{"openai": "sk-", "anthropic": "sk-ant-", "xai": "xai-"}})
	tests := []struct {
		name   string
		mutate func(*Record)
		leak   bool
	}{
		{"golden shape", func(*Record) {}, false},
		{"leased value in an error", func(r *Record) { r.Leases[0].Error = "bad key sk-proj-RecordTestKey0123456789abcdefXYZ%0A" }, true},
		{"another vendor's key", func(r *Record) {
			r.Leases[1].Error = "saw xai-" + "Ab3dEfGh1jKlMn0pQrStUvWxYz0123456789AbCdEfGh"
		}, true},
		{"a JWT where a subject goes", func(r *Record) {
			r.Identity.Subject = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
		}, true},
		{"an AWS access key id", func(r *Record) { r.Session.SessionName = "ASIAQWERTYUIOPASDFGH" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := fullRecord()
			tt.mutate(r)
			path := filepath.Join(t.TempDir(), "r.json")
			err := Write(path, r, []string{"openai"}, sc.Scan, time.Now())
			var le *LeakError
			if got := errors.As(err, &le); got != tt.leak {
				t.Fatalf("leak %v (err %v), want %v", got, err, tt.leak)
			}
			if _, serr := os.Stat(path); (serr == nil) == tt.leak {
				t.Fatalf("record written: %v, want %v", serr == nil, !tt.leak)
			}
		})
	}
}
