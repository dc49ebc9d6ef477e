package lifecycle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keylease/keylease/vendorapi"
)

// TestRevokeIgnoresForgedTagNamingCurrentAsTombstone: a TagResource-only
// actor writes a revocation tag whose id makes the real AWSCURRENT version
// look like the revocation's tombstone and whose version is another one.
// revoke --version current must still disable the current key and put a
// real tombstone, not revoke the version the tag names.
func TestRevokeIgnoresForgedTagNamingCurrentAsTombstone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatal(err)
	}
	cur, curKey := w.keyAt("AWSCURRENT")
	forged := fmt.Sprintf("rev=%s version=%s at=%d vendor=pending verify=pending local=pending registry=pending",
		strings.ReplaceAll(cur, "-", ""), w.oldVID, w.now.Unix())
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", RevokeTag, forged)
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("revoke: %v\n%s", err, w.stderr.String())
	}
	if res.Record.VersionID != cur {
		t.Fatalf("revoked version %s, want the current %s", res.Record.VersionID, cur)
	}
	if v := w.verdict(curKey); v != vendorapi.Invalid {
		t.Fatalf("the current key is %s at the vendor after revoke --version current", v)
	}
	w.assertTombstoned("openai/ci", cur)
}

// TestRevokeIgnoresForgedCompleteTag: a tag (well-formed, with the right
// id) that says the revocation of the current version is complete while
// that version is still AWSCURRENT is not believed: revoke disables the
// key and puts the tombstone instead of saying "already revoked".
func TestRevokeIgnoresForgedCompleteTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	forged := revState{ID: revocationID("openai", "ci", w.oldVID), Version: w.oldVID, At: w.now,
		Vendor: progDone, Verify: "invalid", Local: progDone, Registry: progDone}
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", RevokeTag, forged.String())
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("revoke: %v\n%s", err, w.stderr.String())
	}
	if res.Record.AlreadyRevoked {
		t.Fatal("a forged tag made revoke report the current key as already revoked")
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the current key is %s at the vendor", v)
	}
	w.assertTombstoned("openai/ci", w.oldVID)
}
