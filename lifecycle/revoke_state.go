package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// RevokeTag is the secret tag that carries a revocation's progress: the
// revoked version, when, and which steps are done. AWSCURRENT moves away
// from the revoked version, so a rerun finds it here, not by label.
const RevokeTag = "keylease:revocation"

// Progress words in the tag.
const (
	progPending = "pending"
	progDone    = "done"
	progFailed  = "failed"
	progManual  = "manual"
	progSkipped = "skipped"
)

// revState is the parsed RevokeTag: ids, a time and step states, never a value.
type revState struct {
	ID       string // revocation id
	Version  string // the revoked version id
	At       time.Time
	Vendor   string // pending, done, manual, failed
	Verify   string // pending or the verdict
	Local    string // pending, done
	Registry string // pending, done, skipped
}

func (s revState) String() string {
	return fmt.Sprintf("rev=%s version=%s at=%d vendor=%s verify=%s local=%s registry=%s", s.ID, s.Version, s.At.Unix(), s.Vendor, s.Verify, s.Local, s.Registry)
}

// parseRevState reads a RevokeTag value; anything malformed is ignored.
func parseRevState(v string) (revState, bool) {
	f, ok := tagFields(v, "rev", "version", "at", "vendor", "verify", "local", "registry")
	if !ok {
		return revState{}, false
	}
	at, ok := tagTime(f["at"])
	s := revState{ID: f["rev"], Version: f["version"], At: at, Vendor: f["vendor"], Verify: f["verify"], Local: f["local"], Registry: f["registry"]}
	return s, ok && s.ID != "" && s.Version != ""
}

// revStateOf reads the RevokeTag of tags for vendor.env. A tag whose id is
// not the revocation id of its version is ignored: the tag is hand-editable
// (TagResource), and the id decides which version is taken for the
// tombstone, so it must be one only keylease's own revocation produces.
func revStateOf(tags map[string]string, vendor, env string) (revState, bool) {
	s, ok := parseRevState(tags[RevokeTag])
	if !ok || s.ID != revocationID(vendor, env, s.Version) {
		return revState{}, false
	}
	return s, true
}

// complete: every step of the revocation is done; a rerun has nothing left.
func (s revState) complete() bool {
	return (s.Vendor == progDone || s.Vendor == progManual) && s.Verify == "invalid" && (s.Local == progDone || s.Local == progSkipped) && s.Registry != progPending
}

// revocationID names the revocation of version of vendor.env.
func revocationID(vendor, env, version string) string {
	h := sha256.Sum256([]byte("keylease-revoke\x00" + vendor + "\x00" + env + "\x00" + version))
	return hex.EncodeToString(h[:16])
}
