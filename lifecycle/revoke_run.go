package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
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

// session is what a lifecycle command holds once the lease steps ran: the
// lease (masking, record scanner, AWS config), the registry, the entry, its
// admin key (zero without one) and the clients built from them.
type session struct {
	l      *lease.Lease
	cfg    *registry.Config
	e      *registry.Entry
	admin  secret.Value
	mode   string
	vo     vendorapi.Options
	pr     Proposer
	repo   githubapi.Repo
	store  *exchange.RotationStore
	now    func() time.Time
	getenv func(string) string
}

// openSession runs Load → ResolveSpecs → Session → Fetch for vendor.env,
// leasing the entry's admin key (to keylease itself) when it names one.
// The caller closes s.l.
func openSession(ctx context.Context, lo lease.Options, pio lease.IO, vendor, env, mode string, dryRun bool, vo vendorapi.Options, now func() time.Time) (*session, error) {
	if err := lease.Check(lo); err != nil {
		return nil, err
	}
	if vendor == "" || env == "" {
		return nil, fail(lease.ExitConfig, errors.New("give --vendor and --env"))
	}
	if now == nil {
		now = time.Now
	}
	l := lease.New(lo, pio)
	s := &session{l: l, now: now, getenv: pio.Getenv}
	if err := l.Load(); err != nil {
		l.Close()
		return nil, err
	}
	s.cfg = l.Config()
	e, ok := s.cfg.Registry.Entry(vendor, env)
	if !ok {
		l.Close()
		return nil, fail(lease.ExitConfig, fmt.Errorf("no registry entry %s.%s in %s", registry.ShownName("--vendor", vendor), registry.ShownName("--env", env), s.cfg.RegistryPath))
	}
	s.e = e
	if mode == "" {
		mode = UpdateWrite
		if l.OnActions() {
			mode = UpdatePR
		}
	}
	switch mode {
	case UpdatePR, UpdateWrite, UpdateNone:
	default:
		l.Close()
		return nil, fail(lease.ExitConfig, fmt.Errorf("--registry-update %q: use pr, write or none", mode))
	}
	s.mode = mode
	var specs []registry.LeaseSpec
	admin, _ := adminOf(e)
	if admin != "" && !dryRun {
		spec, err := s.cfg.ResolveAdmin(e.Vendor, admin)
		if err != nil {
			l.Close()
			return nil, fail(lease.ExitConfig, err)
		}
		spec.EnvVar = adminVar(e.Vendor, admin)
		specs = append(specs, spec)
	}
	l.ResolveSpecs(specs)
	setupCtx, endSetup := l.SetupContext(ctx)
	err := l.Session(setupCtx)
	if err == nil && len(specs) > 0 {
		err = l.Fetch(setupCtx)
	}
	endSetup()
	if err != nil {
		l.Close()
		return nil, err
	}
	if admin != "" {
		s.admin = l.Values()[adminVar(e.Vendor, admin)]
	}
	s.vo = vo
	if s.vo.HTTPClient == nil {
		s.vo.HTTPClient = transport.New(vendorLimits)
	}
	if s.vo.Getenv == nil {
		s.vo.Getenv = pio.Getenv
	}
	if mode == UpdatePR && !dryRun {
		owner, name, ok := strings.Cut(pio.Getenv("GITHUB_REPOSITORY"), "/")
		if !ok || owner == "" || name == "" {
			l.Close()
			return nil, fail(lease.ExitConfig, errors.New("--registry-update pr needs GITHUB_REPOSITORY (owner/name); or pass --registry-update write|none"))
		}
		s.repo = githubapi.Repo{Owner: owner, Name: name}
		gc, err := githubapi.New(githubapi.Options{HTTPClient: transport.New(githubLimits), Getenv: pio.Getenv})
		if err != nil {
			l.Close()
			return nil, fail(lease.ExitConfig, err)
		}
		s.pr = gc
	}
	s.store = exchange.NewRotationStore(l.AWSConfig())
	return s, nil
}

// runInfo fills a lifecycle record's run, session and version fields.
func (s *session) runInfo() (record.Run, *record.Session) {
	if lr := s.l.Record(); lr != nil {
		return lr.Run, lr.Session
	}
	return record.Run{}, nil
}

// seal writes rec (already holding its verification block) to path and
// maps a leak found in it to exit 4.
func (s *session) seal(path string, rec any, err error) error {
	werr := writeSealed(path, rec, s.l, s.now())
	if werr == nil {
		return err
	}
	var leak *record.LeakError
	if errors.As(werr, &leak) {
		return fail(lease.ExitLeak, errors.Join(err, leak))
	}
	return errors.Join(err, werr)
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
