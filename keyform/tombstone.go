package keyform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// A tombstone is the value-free secret version that revocation makes
// AWSCURRENT: {"keylease_revoked": "<RFC 3339>", "reason": LABEL}. A lease
// that reads one must refuse it, so even a stale registry cannot lease a
// revoked key.

// Tombstone is a decoded tombstone.
type Tombstone struct {
	At     time.Time
	Reason string
}

// MaxTombstone bounds what is read as a tombstone; a real one is < 100 bytes.
const MaxTombstone = 1 << 10

// reasonPattern is what a reason label may look like: a short label such as
// "suspected-leak", never free text that could carry a value.
var reasonPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidReason reports whether s can be a tombstone's reason label.
func ValidReason(s string) bool { return reasonPattern.MatchString(s) }

// RevokedError is what reading a tombstone as a key gives: the key behind
// this ref was revoked. It holds only the date and the label.
type RevokedError struct{ Tombstone }

func (e *RevokedError) Error() string {
	return fmt.Sprintf("the secret was revoked on %s (%s): its current version is a keylease tombstone; lease a rotated replacement, or see the revocation record", e.At.UTC().Format(time.RFC3339), e.Reason)
}

// EncodeTombstone returns the tombstone for a revocation at t with reason.
func EncodeTombstone(t time.Time, reason string) ([]byte, error) {
	if !ValidReason(reason) {
		return nil, fmt.Errorf("reason %q: use a short label of lower-case letters, digits, '.', '_' or '-' (at most 64)", reason)
	}
	return json.Marshal(map[string]string{"keylease_revoked": t.UTC().Format(time.RFC3339), "reason": reason})
}

// ParseTombstone reports whether b is a tombstone and decodes it. Anything
// else (a key, the JSON form, malformed JSON) is not a tombstone; a JSON
// object with a "keylease_revoked" field that does not parse is reported as
// a tombstone with a zero time, so that it is refused rather than leased.
func ParseTombstone(b []byte) (Tombstone, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' || len(b) > MaxTombstone || !bytes.Contains(b, []byte(`"keylease_revoked"`)) {
		return Tombstone{}, false
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil {
		return Tombstone{}, false
	}
	raw, ok := f["keylease_revoked"]
	if !ok {
		return Tombstone{}, false
	}
	var ts Tombstone
	var at, reason string
	if json.Unmarshal(raw, &at) == nil {
		ts.At, _ = time.Parse(time.RFC3339, at)
	}
	if r, ok := f["reason"]; ok && json.Unmarshal(r, &reason) == nil && ValidReason(reason) {
		ts.Reason = reason
	} else {
		ts.Reason = "no valid reason label"
	}
	return ts, true
}

// ErrRevoked matches every *RevokedError with errors.Is.
var ErrRevoked = errors.New("revoked")

// Is makes errors.Is(err, ErrRevoked) true for a RevokedError.
func (e *RevokedError) Is(target error) bool { return target == ErrRevoked }
