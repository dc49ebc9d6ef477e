package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
	"github.com/keylease/keylease/vendorapi"
)

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
	mode, err := updateMode(mode, l.OnActions())
	if err != nil {
		l.Close()
		return nil, err
	}
	s.mode = mode
	var specs []registry.LeaseSpec
	admin, _ := adminOf(e)
	if admin != "" && !dryRun {
		spec, err := adminSpec(s.cfg, e.Vendor, admin)
		if err != nil {
			l.Close()
			return nil, err
		}
		specs = append(specs, spec)
	}
	if err := startLease(ctx, l, specs); err != nil {
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
		if s.pr, s.repo, err = proposer(pio.Getenv); err != nil {
			l.Close()
			return nil, err
		}
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

// updateMode is --registry-update with its default: pr under GitHub
// Actions, else write.
func updateMode(mode string, onActions bool) (string, error) {
	if mode == "" {
		mode = UpdateWrite
		if onActions {
			mode = UpdatePR
		}
	}
	switch mode {
	case UpdatePR, UpdateWrite, UpdateNone:
		return mode, nil
	}
	return "", fail(lease.ExitConfig, fmt.Errorf("--registry-update %q: use pr, write or none", mode))
}

// proposer is the registry pull request's client and repository
// (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL).
func proposer(getenv func(string) string) (Proposer, githubapi.Repo, error) {
	owner, name, ok := strings.Cut(getenv("GITHUB_REPOSITORY"), "/")
	if !ok || owner == "" || name == "" {
		return nil, githubapi.Repo{}, fail(lease.ExitConfig, errors.New("--registry-update pr needs GITHUB_REPOSITORY (owner/name); or pass --registry-update write|none"))
	}
	gc, err := githubapi.New(githubapi.Options{HTTPClient: transport.New(githubLimits), Getenv: getenv})
	if err != nil {
		return nil, githubapi.Repo{}, fail(lease.ExitConfig, err)
	}
	return gc, githubapi.Repo{Owner: owner, Name: name}, nil
}

// adminSpec is the lease of vendor's admin entry admin, to keylease's own
// admin client, in the variable that names it.
func adminSpec(cfg *registry.Config, vendor, admin string) (registry.LeaseSpec, error) {
	spec, err := cfg.ResolveAdmin(vendor, admin)
	if err != nil {
		return spec, fail(lease.ExitConfig, err)
	}
	spec.EnvVar = adminVar(vendor, admin)
	return spec, nil
}

// startLease runs ResolveSpecs → Session → Fetch (Fetch only when there is
// something to fetch) within the setup deadline.
func startLease(ctx context.Context, l *lease.Lease, specs []registry.LeaseSpec) error {
	l.ResolveSpecs(specs)
	setupCtx, endSetup := l.SetupContext(ctx)
	defer endSetup()
	err := l.Session(setupCtx)
	if err == nil && len(specs) > 0 {
		err = l.Fetch(setupCtx)
	}
	return err
}
