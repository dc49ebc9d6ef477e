package main

import (
	"strings"
	"testing"

	"github.com/keylease/keylease/masking"
)

// TestDemoRevokes runs the real binary's demo and checks its revocation
// part: disable → verify → tombstone → registry, then a lease with the old
// registry refused with exit 3; and its incident part: revoke → rotate →
// invalidate → the base64 copy found in the scanned file; and its env://
// lease (source env, no AWS session); no key-shaped text in the output.
func TestDemoRevokes(t *testing.T) {
	t.Parallel()
	out := demoBinaryOutput(t)
	for _, want := range []string{"== revocation (", "disable    done    service account", "verify     done    the vendor says invalid",
		"invalidate done    AWSCURRENT is the tombstone version", "registry   done    revoked: true",
		"ok   the lease is refused with exit 3", "Revoked: revoked on ", "PASS: the revoked key is dead at the vendor",
		"== incident (", "scan-paths done    1 file(s) read, 1 place(s) hold the revoked value", "build.log:2:27",
		"ok   keylease incident exits 4", "PASS: the incident revoked and replaced the leaked key",
		"== stores: a key from a GitHub secret", "ok   the run record says source env", "ok   no AWS session was needed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if f := masking.NewScanner(masking.ScanOptions{Detectors: true}).Scan(out); len(f) > 0 {
		t.Errorf("demo output holds %d vendor-shaped secret(s)", len(f))
	}
}
