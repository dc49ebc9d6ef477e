// Package mintname is the vendor-side name of a key that keylease mints for
// one lease (mode: minted). The name carries the run and the lease's expiry,
// so that a key a crash left behind can be found and deleted by the audit's
// orphan sweep without any state of its own: the vendor's key list is the
// state.
//
//	keylease-lease-<vendor>-<env>-<run>-exp<unix seconds>
package mintname

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every lease-minted name (rotation's names do not have it).
const Prefix = "keylease-lease-"

// Name is a parsed lease-minted name.
type Name struct {
	Vendor, Env, Run string
	Expires          time.Time
}

var (
	partPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	runClean    = regexp.MustCompile(`[^a-z0-9]+`)
)

// Format returns the name for a lease of vendor/env in run that ends at
// expires. run is reduced to at most 24 lower-case letters and digits (a
// GitHub run id and attempt, or a random id locally).
func Format(vendor, env, run string, expires time.Time) string {
	r := runClean.ReplaceAllString(strings.ToLower(run), "")
	if len(r) > 24 {
		r = r[len(r)-24:]
	}
	if r == "" {
		r = "local"
	}
	return Prefix + vendor + "-" + env + "-" + r + "-exp" + strconv.FormatInt(expires.Unix(), 10)
}

// Parse reads a name that Format made; ok is false for every other name.
func Parse(s string) (Name, bool) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(s) > 160 {
		return Name{}, false
	}
	i := strings.LastIndex(rest, "-exp")
	if i < 0 {
		return Name{}, false
	}
	secs, err := strconv.ParseInt(rest[i+len("-exp"):], 10, 64)
	if err != nil || secs <= 0 {
		return Name{}, false
	}
	head := rest[:i] // vendor-env-run; the vendor has no '-', the run none either
	v, tail, ok := strings.Cut(head, "-")
	j := strings.LastIndex(tail, "-")
	if !ok || j <= 0 {
		return Name{}, false
	}
	n := Name{Vendor: v, Env: tail[:j], Run: tail[j+1:], Expires: time.Unix(secs, 0).UTC()}
	if !partPattern.MatchString(n.Vendor) || !partPattern.MatchString(n.Env) || n.Run == "" || len(n.Run) > 24 || runClean.MatchString(n.Run) {
		return Name{}, false
	}
	return n, true
}

// Orphaned reports whether a key of this name should be gone at now: its
// lease ended more than grace ago (grace covers the deletion at the lease's
// end and clock skew).
func (n Name) Orphaned(now time.Time, grace time.Duration) bool {
	return now.After(n.Expires.Add(grace))
}
