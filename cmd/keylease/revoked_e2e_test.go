package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/keyform"
)

// TestExecRefusesTombstone: the secret's AWSCURRENT is a revocation
// tombstone while the registry still says nothing of a revocation (a stale
// registry). exec exits 3 with "revoked on DATE (reason)", runs no child,
// and the message, the output and every file are value-free. The ref is
// read as a plain key, with #api_key (a JSON field is expected), and as
// binary: each must recognise the tombstone, not report a missing field.
func TestExecRefusesTombstone(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	tomb, err := keyform.EncodeTombstone(at, "suspected-leak")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		bin  bool
	}{
		{"plain ref", []string{"--vendor", "openai"}, false},
		{"json key ref", []string{"--ref", "OPENAI_API_KEY=kv://openai/ci/api_key#api_key"}, false},
		{"binary secret", []string{"--vendor", "openai"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			// The old key stays in the canary set: it must not come back.
			v := smfake.Value{String: string(tomb)}
			if tt.bin {
				v = smfake.Value{Binary: bytes.Clone(tomb)}
			}
			r.stack.SM.Put(r.stack.Region, "openai/ci/api_key", v)
			res := r.run("sha", tt.args...)
			if res.code != 3 {
				t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
			}
			if r.childRan() {
				t.Fatal("the child ran on a revoked secret")
			}
			want := "revoked on 2026-12-01T09:30:00Z (suspected-leak)"
			if !strings.Contains(string(res.stderr), want) {
				t.Fatalf("stderr does not say %q:\n%s", want, res.stderr)
			}
			for _, bad := range []string{"JSONKeyNotFound", "BadKeyForm", "PrefixMismatch"} {
				if strings.Contains(string(res.stderr), bad) {
					t.Errorf("stderr reports %s instead of the revocation:\n%s", bad, res.stderr)
				}
			}
			// The record, too, says revoked.
			recs, _ := filepath.Glob(filepath.Join(r.dir, "runner-temp", "keylease", "keylease-record-*.json"))
			if len(recs) != 1 {
				t.Fatalf("records %v", recs)
			}
			b, err := os.ReadFile(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte("revoked on 2026-12-01T09:30:00Z")) {
				t.Errorf("the record does not say revoked:\n%s", b)
			}
		})
	}
}
