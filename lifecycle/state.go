package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
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

// state is the parsed StateTag: ids, a time and two flags, never a value.
type state struct {
	RotationID string
	New, Old   string // version ids
	At         time.Time
	Retire     string
	Registry   string
}

var tagToken = regexp.MustCompile(`^[A-Za-z0-9_.:/+@-]{1,64}$`)

func (s state) String() string {
	return fmt.Sprintf("rot=%s new=%s old=%s at=%d retire=%s registry=%s", s.RotationID, s.New, s.Old, s.At.Unix(), s.Retire, s.Registry)
}

// parseState reads a StateTag value; ok is false for anything malformed (a
// hand-edited tag is ignored, not trusted).
func parseState(v string) (state, bool) {
	var s state
	seen := 0
	for _, f := range strings.Fields(v) {
		k, val, found := strings.Cut(f, "=")
		if !found || !tagToken.MatchString(val) {
			return state{}, false
		}
		seen++
		switch k {
		case "rot":
			s.RotationID = val
		case "new":
			s.New = val
		case "old":
			s.Old = val
		case "at":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return state{}, false
			}
			s.At = time.Unix(n, 0).UTC()
		case "retire":
			s.Retire = val
		case "registry":
			s.Registry = val
		default:
			seen--
		}
	}
	return s, seen == 6 && s.New != "" && s.RotationID != ""
}

// rotationID names the rotation that replaces version current of
// vendor.env: the same inputs after a crash give the same id.
func rotationID(vendor, env, current string) string {
	h := sha256.Sum256([]byte("keylease-rotate\x00" + vendor + "\x00" + env + "\x00" + current))
	return hex.EncodeToString(h[:16])
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
