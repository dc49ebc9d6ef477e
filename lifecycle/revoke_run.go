package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/vendorapi"
)

// RevokeOptions are `keylease revoke`'s inputs.
type RevokeOptions struct {
	Lease          lease.Options // session flags; Vendors/Refs/Command unused
	Vendor, Env    string
	Reason         string
	Version        string // current (""), previous or a version id
	RegistryUpdate string // "" : pr under GitHub Actions, else write
	ConfirmManual  bool
	DryRun         bool
	RecordDir      string // "" : beside record.DefaultPath

	// Tests and the demo.
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
	Crash     func(step string) error
	VerifyFor time.Duration
	Vendors   vendorapi.Options
}

// RevokeResult is one revocation's outcome.
type RevokeResult struct {
	ExitCode   int
	Record     *RevocationRecord
	RecordPath string
}

// RunRevoke revokes one entry's key: the admin key through the lease
// steps, the revocation itself, then the revocation record.
func RunRevoke(ctx context.Context, o RevokeOptions, pio lease.IO) (*RevokeResult, error) {
	if !keyform.ValidReason(o.Reason) {
		return nil, fail(lease.ExitConfig, fmt.Errorf("--reason %q: give a short label of lower-case letters, digits, '.', '_' or '-' (such as suspected-leak or offboarding)", o.Reason))
	}
	s, err := openSession(ctx, o.Lease, pio, o.Vendor, o.Env, o.RegistryUpdate, o.DryRun, o.Vendors, o.Now)
	if err != nil {
		return nil, err
	}
	defer s.l.Close()
	check, dis, err := revokeClients(s.e, s.vo, s.admin)
	if err != nil {
		return nil, fail(lease.ExitConfig, err)
	}
	rv := &Revoker{Store: s.store, Validator: check, Disabler: dis, PR: s.pr, Mask: s.l, Out: pio.Stderr,
		Now: s.now, Sleep: o.Sleep, Crash: o.Crash, VerifyFor: o.VerifyFor}
	t := RevokeTarget{Entry: s.e, Version: o.Version, Reason: o.Reason, RegistryPath: o.Lease.RegistryPath, RegistryUpdate: s.mode,
		Repo: s.repo, RepoPath: repoPath(o.Lease.RegistryPath, pio.Getenv), ConfirmManual: o.ConfirmManual, DryRun: o.DryRun}
	rec, rerr := rv.Revoke(ctx, t)
	if rec == nil {
		return nil, rerr
	}
	res := &RevokeResult{Record: rec}
	if errors.Is(rerr, ErrCrash) {
		return res, rerr
	}
	rec.KeyleaseVersion = o.Lease.Version
	rec.Run, rec.Session = s.runInfo()
	rec.ExitCode, rec.Outcome = 0, OutcomeDone
	if rerr != nil {
		rec.ExitCode, rec.Outcome = codeOf(rerr), OutcomeFailed
	}
	rec.Verification = sealedBy(s.l)
	path := kindRecordPath(o.RecordDir, pio.Getenv, "revocation", s.e)
	rerr = s.seal(path, rec, rerr)
	if _, serr := os.Lstat(path); serr == nil {
		res.RecordPath = path
		fmt.Fprintf(pio.Stderr, "keylease revoke %s.%s: revocation record %s\n", s.e.Vendor, s.e.Env, s.l.Sanitize(path))
	}
	res.ExitCode = 0
	if rerr != nil {
		res.ExitCode = codeOf(rerr)
		return res, fail(res.ExitCode, s.l.SanitizeError(rerr))
	}
	return res, nil
}
