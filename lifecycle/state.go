package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keylease/keylease/exchange"
)

// StateTag is the secret tag that carries a rotation's progress.
const StateTag = "keylease:rotation"

// Retire and registry states in the tag.
const (
	retirePending = "pending"
	retireDone    = "done"
	retireManual  = "manual" // no vendor key id known: an operator retires the old key
	regPending    = "pending"
	regDone       = "done"
)

// state is the parsed StateTag: ids, times and two flags, never a value.
type state struct {
	RotationID string
	New, Old   string // version ids
	At         time.Time
	// Due is the retire time the promoting run set (zero: not known); a
	// later run with a shorter --retire-after never retires before it.
	Due      time.Time
	Retire   string
	Registry string
}

var tagToken = regexp.MustCompile(`^[A-Za-z0-9_.:/+@-]{1,64}$`)

func (s state) String() string {
	due := ""
	if !s.Due.IsZero() {
		due = fmt.Sprintf(" due=%d", s.Due.Unix())
	}
	return fmt.Sprintf("rot=%s new=%s old=%s at=%d%s retire=%s registry=%s", s.RotationID, s.New, s.Old, s.At.Unix(), due, s.Retire, s.Registry)
}

// retireAt is when the old key may be retired with retire-after d: d after
// promotion, and never before the promoting run's own retire time.
func (s state) retireAt(d time.Duration) time.Time {
	if t := s.At.Add(d); t.After(s.Due) {
		return t
	}
	return s.Due
}

// parseState reads a StateTag value; ok is false for anything malformed (a
// hand-edited tag is ignored, not trusted).
func parseState(v string) (state, bool) {
	f, ok := tagFields(v, "rot", "new", "old", "at", "retire", "registry")
	if !ok {
		return state{}, false
	}
	at, ok := tagTime(f["at"])
	s := state{RotationID: f["rot"], New: f["new"], Old: f["old"], At: at, Retire: f["retire"], Registry: f["registry"]}
	if d, has := f["due"]; has {
		due, dok := tagTime(d)
		s.Due, ok = due, ok && dok
	}
	return s, ok && s.New != "" && s.RotationID != ""
}

// stateOf is the rotation state of secret st: its StateTag, or the state of
// a mint promotion a crash left before its tag. A mint rotation writes its
// tag only after promotion (one call fewer); a crash between the move and
// the tag leaves AWSCURRENT on the version keylease put (its version id is
// the ClientRequestToken of AWSPREVIOUS's rotation id, which nobody else
// produces) with AWSPENDING still on it. keylease promoted it only after
// the test passed, so the rotation is finished from there; the promotion
// time is not known, so retire-after counts from now (later, never
// earlier).
func stateOf(st exchange.SecretState, vendor, env string, now time.Time) (state, bool) {
	prev, ok := parseState(st.Tags[StateTag])
	cur := st.VersionWith(stageCurrent)
	if cur == "" || st.VersionWith(stagePending) != cur || (ok && prev.New == cur) {
		return prev, ok
	}
	if old := st.VersionWith(stagePrevious); old != "" {
		if rid := rotationID(vendor, env, old, attemptOf(st.Tags, old)); cur == requestToken(rid) {
			return state{RotationID: rid, New: cur, Old: old, At: now.UTC().Truncate(time.Second), Retire: retirePending, Registry: regPending}, true
		}
	}
	return prev, ok
}

// tagFields reads a tag value of space-separated key=value tokens. ok is
// false when a token is malformed or one of keys is missing; other keys
// are ignored.
func tagFields(v string, keys ...string) (map[string]string, bool) {
	f := map[string]string{}
	for _, tok := range strings.Fields(v) {
		k, val, found := strings.Cut(tok, "=")
		if !found || !tagToken.MatchString(val) {
			return nil, false
		}
		f[k] = val
	}
	for _, k := range keys {
		if _, ok := f[k]; !ok {
			return nil, false
		}
	}
	return f, true
}

// tagTime reads a tag's Unix seconds.
func tagTime(v string) (time.Time, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// rotationID names attempt n of the rotation that replaces version current
// of vendor.env: the same inputs after a crash give the same id. A new
// attempt starts only after a rejected key (AttemptTag), because the
// rejected version keeps its id (the request token) and Secrets Manager
// refuses that id for another value.
func rotationID(vendor, env, current string, attempt int) string {
	in := "keylease-rotate\x00" + vendor + "\x00" + env + "\x00" + current
	if attempt > 0 {
		in += "\x00" + strconv.Itoa(attempt)
	}
	h := sha256.Sum256([]byte(in))
	return hex.EncodeToString(h[:16])
}

// AttemptTag counts the rejected attempts at replacing one version:
// "<version id> <n>".
const AttemptTag = "keylease:rotation-attempt"

// maxAttempts bounds the count read from AttemptTag.
const maxAttempts = 1000

// attemptOf is the attempt to use for replacing version vid (0 unless
// AttemptTag names vid).
func attemptOf(tags map[string]string, vid string) int {
	v, n, ok := strings.Cut(tags[AttemptTag], " ")
	if !ok || v != vid {
		return 0
	}
	a, err := strconv.Atoi(n)
	if err != nil || a < 0 || a > maxAttempts {
		return 0
	}
	return a
}

// requestToken is the rotation id in the UUID shape Secrets Manager uses for
// version ids (ClientRequestToken: 32–64 characters).
func requestToken(id string) string {
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

// keyName is the vendor-side name of the key a rotation mints.
func keyName(vendor, env, id string) string {
	return "keylease-" + vendor + "-" + env + "-" + id[:12]
}
