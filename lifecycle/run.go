package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
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

// RotateOptions are `keylease rotate`'s inputs.
type RotateOptions struct {
	Lease          lease.Options // session flags; Vendors/Refs/Command unused
	Vendor, Env    string        // one entry; with Due, optional filters
	Due            bool
	DryRun, Force  bool
	RegistryUpdate string        // "" : pr under GitHub Actions, else write
	RetireAfter    time.Duration // < 0 : the environment's TTL cap
	RecordDir      string        // "" : beside record.DefaultPath

	// Tests and the demo.
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
	Crash   func(step string) error
	Vendors vendorapi.Options // HTTPClient nil: the bounded transport
}

// RotateResult is every rotation of one run.
type RotateResult struct {
	ExitCode    int
	Records     []*Record
	RecordPaths []string
}

// vendor-side limits: small JSON answers, no redirects (a key must never
// follow one).
var (
	vendorLimits = transport.Limits{Endpoint: "vendor", MaxBody: 1 << 20, AttemptTimeout: 30 * time.Second, RefuseRedirects: true}
	githubLimits = transport.Limits{Endpoint: "github", MaxBody: 8 << 20, AttemptTimeout: 30 * time.Second, RefuseRedirects: true}
)

// RunRotate leases keylease's own admin keys through the lease steps
// (Load → ResolveSpecs → Session → Fetch), rotates every selected entry and
// writes one rotation record per entry.
func RunRotate(ctx context.Context, o RotateOptions, pio lease.IO) (*RotateResult, error) {
	if err := lease.Check(o.Lease); err != nil {
		return nil, err
	}
	if !o.Due && (o.Vendor == "" || o.Env == "") {
		return nil, fail(lease.ExitConfig, errors.New("give --vendor and --env, or --due to rotate every overdue entry"))
	}
	l := lease.New(o.Lease, pio)
	defer l.Close()
	if err := l.Load(); err != nil {
		return nil, err
	}
	cfg := l.Config()
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	targets, err := selectTargets(cfg, o, now())
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		// Nothing to rotate: no session, no call at all.
		fmt.Fprintln(pio.Stderr, "keylease rotate: nothing due")
		return &RotateResult{}, nil
	}
	mode, err := updateMode(o.RegistryUpdate, l.OnActions())
	if err != nil {
		return nil, err
	}
	// The admin keys: leased to keylease itself, never to a child.
	var specs []registry.LeaseSpec
	seen := map[string]bool{}
	for _, e := range targets {
		if a := e.Rotation.Admin; a != "" && !seen[e.Vendor+"."+a] && !o.DryRun {
			seen[e.Vendor+"."+a] = true
			s, err := adminSpec(cfg, e.Vendor, a)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		}
	}
	if err := startLease(ctx, l, specs); err != nil {
		return nil, err
	}
	admins := l.Values()
	res := &RotateResult{}
	hc := o.Vendors.HTTPClient
	if hc == nil {
		hc = transport.New(vendorLimits)
	}
	vo := o.Vendors
	vo.HTTPClient = hc
	if vo.Getenv == nil {
		vo.Getenv = pio.Getenv
	}
	var pr Proposer
	var repo githubapi.Repo
	if mode == UpdatePR && !o.DryRun {
		if pr, repo, err = proposer(pio.Getenv); err != nil {
			return nil, err
		}
	}
	store := exchange.NewRotationStore(l.AWSConfig())
	code := 0
	var errs []error
	for _, e := range targets {
		r := &Rotator{Store: store, PR: pr, Mask: l, Out: pio.Stderr, Now: now, Sleep: o.Sleep, Crash: o.Crash}
		if err := vendorClients(r, e, vo, admins[adminVar(e.Vendor, e.Rotation.Admin)]); err != nil {
			return nil, fail(lease.ExitConfig, err)
		}
		retire := o.RetireAfter
		if retire < 0 {
			ttlCap, _ := cfg.Policy.TTLCap(e.Env)
			retire = ttlCap
		}
		t := Target{Entry: e, RegistryPath: o.Lease.RegistryPath, RegistryUpdate: mode, RetireAfter: retire,
			Repo: repo, RepoPath: repoPath(o.Lease.RegistryPath, pio.Getenv), DryRun: o.DryRun, Force: o.Force}
		rec, rerr := r.Rotate(ctx, t)
		if rec == nil {
			return res, rerr
		}
		rec.KeyleaseVersion = o.Lease.Version
		if lr := l.Record(); lr != nil {
			rec.Run, rec.Session = lr.Run, lr.Session
		}
		rec.ExitCode = codeOf(rerr)
		rec.Outcome = OutcomeDone
		if rerr == nil {
			rec.ExitCode = 0
		} else {
			rec.Outcome = OutcomeFailed
		}
		path := recordPath(o.RecordDir, pio.Getenv, e)
		if werr := WriteRecord(path, rec, l, now()); werr != nil {
			var leak *record.LeakError
			if errors.As(werr, &leak) {
				rec.ExitCode = lease.ExitLeak
				rerr = errors.Join(rerr, fail(lease.ExitLeak, leak))
			} else {
				rerr = errors.Join(rerr, werr)
			}
		} else {
			res.RecordPaths = append(res.RecordPaths, path)
			fmt.Fprintf(pio.Stderr, "keylease rotate %s.%s: rotation record %s\n", e.Vendor, e.Env, l.Sanitize(path))
		}
		res.Records = append(res.Records, rec)
		if rec.ExitCode > code {
			code = rec.ExitCode
		}
		if rerr != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", e.Vendor, e.Env, l.SanitizeError(rerr)))
		}
	}
	res.ExitCode = code
	if len(errs) > 0 {
		return res, fail(code, errors.Join(errs...))
	}
	return res, nil
}

func adminVar(vendor, env string) string {
	return registry.EnvVarFor(vendor) + "_ADMIN_" + strings.ToUpper(strings.ReplaceAll(env, "-", "_"))
}

// selectTargets is the entry named, or with Due every rotated entry whose
// last_rotated + the policy's rotation_days has passed.
func selectTargets(cfg *registry.Config, o RotateOptions, now time.Time) ([]*registry.Entry, error) {
	if !o.Due {
		e, ok := cfg.Registry.Entry(o.Vendor, o.Env)
		if !ok {
			return nil, fail(lease.ExitConfig, fmt.Errorf("no registry entry %s.%s in %s", registry.ShownName("--vendor", o.Vendor), registry.ShownName("--env", o.Env), cfg.RegistryPath))
		}
		if e.Rotation == nil {
			return nil, fail(lease.ExitConfig, fmt.Errorf("%s.%s (%s line %d) has no rotation block; add rotation: {method: mint|staged, admin: ENV}", e.Vendor, e.Env, cfg.RegistryPath, e.Line))
		}
		return []*registry.Entry{e}, nil
	}
	var out []*registry.Entry
	for _, e := range cfg.Registry.Entries() {
		if e.Rotation == nil || e.Revoked || (o.Vendor != "" && e.Vendor != o.Vendor) || (o.Env != "" && e.Env != o.Env) {
			continue
		}
		if Due(e, cfg.Policy, now) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out, nil
}

// Due reports whether e's rotation is due at now: last_rotated +
// rotation_days of its environment has passed (never rotated: due; no
// cadence for the environment: not due).
func Due(e *registry.Entry, p *registry.Policy, now time.Time) bool {
	days, ok := p.RotationDays[e.Env]
	if !ok || days <= 0 {
		return false
	}
	if e.LastRotated.IsZero() {
		return true
	}
	return !now.UTC().Before(e.LastRotated.AddDate(0, 0, days))
}

// vendorClients builds the validity check and the admin/retire clients of
// e's vendor on the bounded transport.
func vendorClients(r *Rotator, e *registry.Entry, vo vendorapi.Options, admin secret.Value) error {
	project := e.Rotation.ProjectID
	switch e.Vendor {
	case "openai":
		c, err := vendorapi.NewOpenAI(vo)
		if err != nil {
			return err
		}
		r.Validator = c
		if !admin.IsZero() {
			p := c.Project(admin, project)
			r.Admin, r.Retirer = p, p
		}
	case "xai":
		c, err := vendorapi.NewXAI(vo)
		if err != nil {
			return err
		}
		r.Validator = c
		if !admin.IsZero() {
			t := c.Team(admin, project, nil)
			r.Admin, r.Retirer = t, t
		}
	case "anthropic":
		c, err := vendorapi.NewAnthropic(vo)
		if err != nil {
			return err
		}
		r.Validator = c
		if !admin.IsZero() {
			r.Retirer = c.Org(admin) // no create by API: staged only
		}
		if e.Rotation.Method == registry.MethodMint {
			return errors.New("anthropic keys cannot be created by API: use rotation method staged")
		}
	default:
		return fmt.Errorf("vendor %s has no rotation client; use openai, anthropic or xai", registry.ShownName("--vendor", e.Vendor))
	}
	if e.Rotation.Method == registry.MethodMint && r.Admin == nil && !admin.IsZero() {
		return fmt.Errorf("%s cannot mint keys", e.Vendor)
	}
	return nil
}

// repoPath is the registry's path inside the repository: relative to
// GITHUB_WORKSPACE when it lies there, else as given.
func repoPath(p string, getenv func(string) string) string {
	if ws := getenv("GITHUB_WORKSPACE"); ws != "" && filepath.IsAbs(p) {
		if rel, err := filepath.Rel(ws, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}

func recordPath(dir string, getenv func(string) string, e *registry.Entry) string {
	return kindRecordPath(dir, getenv, "rotation", e)
}

// kindRecordPath is where a lifecycle record of kind (rotation,
// revocation, incident) for e goes: beside the run record unless dir is set.
func kindRecordPath(dir string, getenv func(string) string, kind string, e *registry.Entry) string {
	base := record.DefaultPath(getenv)
	if dir == "" {
		dir = filepath.Dir(base)
	}
	name := strings.Replace(filepath.Base(base), "keylease-record-", "keylease-"+kind+"-"+e.Vendor+"-"+e.Env+"-", 1)
	return filepath.Join(dir, name)
}
