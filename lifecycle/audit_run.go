package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
	"github.com/keylease/keylease/vendorapi"
)

// AuditOptions are `keylease audit`'s inputs.
type AuditOptions struct {
	Lease         lease.Options // session flags; Vendors/Refs/Command unused
	Repos         []string      // owner/name
	Org           string
	Shard, Shards int           // 1-based shard of Shards; 0/0: all
	Since         time.Duration // runs created since (default 7 days)
	RetireAfter   time.Duration // rotate's --retire-after; 0: the TTL cap
	Fingerprints  masking.FingerprintList
	Outputs       AuditOutputs
	// ETagCache is a file of GitHub answers by ETag, read before and
	// written after the run, so that unchanged answers cost a 304.
	ETagCache string

	// Tests and the demo.
	Now         func() time.Time
	Sleep       func(ctx context.Context, d time.Duration) error
	Vendors     vendorapi.Options // HTTPClient nil: the bounded transport
	GitHubHTTP  http.RoundTripper // nil: the bounded transport
	Concurrency int
	Deadline    time.Time // no rate-limit wait past this; zero: none
}

// AuditOutputs are where a report goes.
type AuditOutputs struct {
	ReportPath string // --report ("" none; "-" stdout)
	SARIFPath  string // --sarif
	Issue      bool   // --issue
	IssueRepo  string // --issue-repo; "" GITHUB_REPOSITORY
	FailOn     auditreport.Severity
	Version    string
}

// DefaultSince is how far back runs are scanned without --since.
const DefaultSince = 7 * 24 * time.Hour

// auditLimits: GitHub answers and downloads (job logs, artifacts) share
// one bounded transport; downloads follow GitHub's 302, so redirects are
// allowed here (githubapi strips Authorization from them).
var auditLimits = transport.Limits{Endpoint: "github", MaxBody: githubapi.DefaultMaxDownload, AttemptTimeout: 2 * time.Minute}

// RunAudit leases keylease's admin keys through the lease steps, runs the
// audit and writes its outputs. The exit code is the report's (0, 4 or 5).
func RunAudit(ctx context.Context, o AuditOptions, pio lease.IO) (*auditreport.Report, int, error) {
	if err := lease.Check(o.Lease); err != nil {
		return nil, lease.ExitConfig, err
	}
	if o.Shards < 0 || o.Shard < 0 || (o.Shards > 0 && (o.Shard < 1 || o.Shard > o.Shards)) {
		return nil, lease.ExitConfig, fail(lease.ExitConfig, fmt.Errorf("--shard %d/%d: want I/N with 1 <= I <= N", o.Shard, o.Shards))
	}
	if o.Shards > 1 && o.Outputs.Issue {
		return nil, lease.ExitConfig, fail(lease.ExitConfig, errors.New("--issue with --shard: each shard writes --report, and keylease audit merge --issue opens the one issue"))
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if o.Since <= 0 {
		o.Since = DefaultSince
	}
	l := lease.New(o.Lease, pio)
	defer l.Close()
	if err := l.Load(); err != nil {
		return nil, lease.ExitConfig, err
	}
	cfg := l.Config()
	firstShard := o.Shards <= 1 || o.Shard == 1
	var specs []registry.LeaseSpec
	if firstShard {
		specs = auditAdmins(cfg)
	}
	l.ResolveSpecs(specs)
	sc := masking.ScanOptions{Detectors: true, Prefixes: cfg.Policy.RequiredPrefix, Fingerprints: o.Fingerprints.Sums, FingerprintLengths: o.Fingerprints.Lengths}
	a := &Auditor{Config: cfg, RegistryFile: repoPath(o.Lease.RegistryPath, pio.Getenv), Mask: l, Now: now, Since: o.Since, RetireAfter: o.RetireAfter, Concurrency: o.Concurrency, Out: pio.Stderr, Scanner: masking.NewScanner(sc)}
	a.Severity = map[string]auditreport.Severity{}
	for id, s := range cfg.Policy.AuditSeverity {
		a.Severity[id] = auditreport.Severity(s) // the schema allowed only low, medium, high
	}
	var sessionErr error
	if firstShard {
		setupCtx, endSetup := l.SetupContext(ctx)
		sessionErr = l.Session(setupCtx)
		if sessionErr == nil && len(specs) > 0 {
			sessionErr = l.Fetch(setupCtx)
		}
		endSetup()
		if sessionErr == nil {
			a.Store = exchange.NewRotationStore(l.AWSConfig())
			a.Vendor, a.Minted = auditVendors(o, pio, l.Values())
		}
	}
	var etags *githubapi.ETags
	if o.ETagCache != "" {
		var err error
		if etags, err = loadETags(o.ETagCache); err != nil {
			return nil, lease.ExitConfig, fail(lease.ExitConfig, fmt.Errorf("--etag-cache %s: %w; delete it to start afresh", o.ETagCache, err))
		}
	}
	gh, repos, orgs, err := auditGitHub(ctx, o, pio, now, etags)
	if err != nil {
		return nil, lease.ExitConfig, err
	}
	if gh != nil {
		a.GitHub = gh
	}
	if !firstShard {
		orgs = nil // one shard reads the organization's secrets
	}
	rep := a.Audit(ctx, repos, orgs)
	if sessionErr != nil {
		for _, e := range cfg.Registry.Entries() {
			rep.Entries = append(rep.Entries, e.Vendor+"."+e.Env)
			rep.Unreached = append(rep.Unreached, auditreport.Unreached{Subject: e.Vendor + "." + e.Env, Why: "no AWS session: " + l.SanitizeError(sessionErr).Error()})
		}
	}
	if gh == nil {
		rep.Skipped = append(rep.Skipped, auditreport.Skipped{Check: "repositories", Why: "no repository to audit: give --repo, --org or GITHUB_REPOSITORY, and GITHUB_TOKEN"})
	}
	if o.Shards > 1 {
		rep.Shards = []string{fmt.Sprintf("%d/%d", o.Shard, o.Shards)}
	}
	rep.Normalize()
	code, err := WriteAuditOutputs(ctx, rep, o.Outputs, l, pio)
	if etags != nil {
		var buf bytes.Buffer
		serr := etags.Save(&buf)
		if serr == nil {
			serr = writeOut(o.ETagCache, buf.Bytes(), l, pio)
		}
		if serr != nil {
			// The cache only saves requests; the audit's result stands.
			fmt.Fprintf(pio.Stderr, "keylease audit: --etag-cache %s not written: %s\n", o.ETagCache, l.SanitizeError(serr))
		}
	}
	return rep, code, err
}

func loadETags(path string) (*githubapi.ETags, error) {
	e := githubapi.NewETags()
	f, err := os.Open(path) //nolint:gosec // the --etag-cache path the operator gave
	if errors.Is(err, os.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return e, e.Load(f)
}

// auditAdmins are the admin entries the audit leases to itself: rotation
// admins (to check and retire old keys) and minted entries' admins (to list
// lease-minted keys).
func auditAdmins(cfg *registry.Config) []registry.LeaseSpec {
	var specs []registry.LeaseSpec
	seen := map[string]bool{}
	for _, e := range cfg.Registry.Entries() {
		admin := e.Admin
		if e.Rotation != nil {
			admin = e.Rotation.Admin
		}
		if admin == "" || seen[e.Vendor+"."+admin] {
			continue
		}
		seen[e.Vendor+"."+admin] = true
		s, err := cfg.ResolveAdmin(e.Vendor, admin)
		if err != nil {
			continue // Load already reported a broken admin reference
		}
		s.EnvVar = adminVar(e.Vendor, admin)
		specs = append(specs, s)
	}
	return specs
}

// auditVendors builds the vendor clients from the leased admin keys, with
// rotate's own vendorClients for rotated entries.
func auditVendors(o AuditOptions, pio lease.IO, admins map[string]secret.Value) (func(*registry.Entry) (AuditVendor, error), func(MintedKey) (vendorapi.Lister, error)) {
	vo := o.Vendors
	if vo.HTTPClient == nil {
		vo.HTTPClient = transport.New(vendorLimits)
	}
	if vo.Getenv == nil {
		vo.Getenv = pio.Getenv
	}
	vendor := func(e *registry.Entry) (AuditVendor, error) {
		if e.Rotation == nil {
			return AuditVendor{}, errors.New("the entry has no rotation block")
		}
		r := &Rotator{}
		if err := vendorClients(r, e, vo, admins[adminVar(e.Vendor, e.Rotation.Admin)]); err != nil {
			return AuditVendor{}, err
		}
		return AuditVendor{Validator: r.Validator, Retirer: r.Retirer}, nil
	}
	minted := func(k MintedKey) (vendorapi.Lister, error) {
		admin := admins[adminVar(k.Vendor, k.Admin)]
		if admin.IsZero() {
			return nil, fmt.Errorf("the admin entry %s.%s was not leased", k.Vendor, k.Admin)
		}
		switch k.Vendor {
		case "openai":
			c, err := vendorapi.NewOpenAI(vo)
			if err != nil {
				return nil, err
			}
			return c.Project(admin, k.Project), nil
		case "xai":
			c, err := vendorapi.NewXAI(vo)
			if err != nil {
				return nil, err
			}
			return c.Team(admin, k.Project, nil), nil
		}
		return nil, fmt.Errorf("keylease does not mint %s keys", k.Vendor)
	}
	return vendor, minted
}

// splitGitHub lists secret names with their own token when one is given
// (KEYLEASE_SECRETS_TOKEN): the job's GITHUB_TOKEN cannot.
type splitGitHub struct {
	*githubapi.Client
	secrets *githubapi.Client
}

func (s splitGitHub) RepoSecretNames(ctx context.Context, r githubapi.Repo) ([]string, error) {
	return s.secrets.RepoSecretNames(ctx, r)
}

func (s splitGitHub) OrgSecretNames(ctx context.Context, org string) ([]string, error) {
	return s.secrets.OrgSecretNames(ctx, org)
}

func (s splitGitHub) EnvSecretNames(ctx context.Context, repoID int, env string) ([]string, error) {
	return s.secrets.EnvSecretNames(ctx, repoID, env)
}

// auditGitHub builds the GitHub client and the repositories of this shard;
// nil when there is nothing to audit on GitHub.
func auditGitHub(ctx context.Context, o AuditOptions, pio lease.IO, now func() time.Time, etags *githubapi.ETags) (AuditGitHub, []AuditRepo, []string, error) {
	names := o.Repos
	if len(names) == 0 && o.Org == "" {
		if r := pio.Getenv("GITHUB_REPOSITORY"); r != "" {
			names = []string{r}
		}
	}
	if len(names) == 0 && o.Org == "" {
		return nil, nil, nil, nil
	}
	client, err := newGitHub(o, pio.Getenv, now, etags)
	if err != nil {
		return nil, nil, nil, err
	}
	var gh AuditGitHub = client
	if tok := pio.Getenv("KEYLEASE_SECRETS_TOKEN"); tok != "" {
		sc, err := newGitHub(o, func(k string) string {
			if k == "GITHUB_TOKEN" {
				return tok
			}
			return pio.Getenv(k)
		}, now, nil) // one cache per token
		if err != nil {
			return nil, nil, nil, err
		}
		gh = splitGitHub{Client: client, secrets: sc}
	}
	var repos []AuditRepo
	for _, n := range names {
		owner, name, ok := strings.Cut(n, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, nil, nil, fail(lease.ExitConfig, fmt.Errorf("--repo %s: want owner/name", registry.ShownName("--repo", n)))
		}
		repos = append(repos, AuditRepo{Repo: githubapi.Repo{Owner: owner, Name: name}})
	}
	var orgs []string
	if o.Org != "" {
		orgs = []string{o.Org}
		list, err := client.OrgRepos(ctx, o.Org)
		if err != nil {
			return nil, nil, nil, fail(lease.ExitLease, fmt.Errorf("list the repositories of %s: %w", o.Org, err))
		}
		for _, r := range list {
			repos = append(repos, AuditRepo{Repo: githubapi.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}, ID: r.GetID()})
		}
	}
	var mine []AuditRepo
	seen := map[string]bool{}
	for _, r := range repos {
		if !seen[strings.ToLower(r.String())] && Shard(r.String(), o.Shard, o.Shards) {
			mine = append(mine, r)
		}
		seen[strings.ToLower(r.String())] = true
	}
	return gh, mine, orgs, nil
}

func newGitHub(o AuditOptions, getenv func(string) string, now func() time.Time, etags *githubapi.ETags) (*githubapi.Client, error) {
	next := o.GitHubHTTP
	if next == nil {
		next = transport.New(auditLimits).Transport
	}
	pace := &githubapi.Pace{Next: next, Concurrency: o.Concurrency, Now: now, Sleep: o.Sleep, Deadline: o.Deadline, ETags: etags}
	c, err := githubapi.New(githubapi.Options{HTTPClient: &http.Client{Transport: pace}, Getenv: getenv, Sleep: o.Sleep, Now: now})
	if err != nil {
		return nil, fail(lease.ExitConfig, err)
	}
	return c, nil
}

// OutputMask is what writing the outputs needs of the lease's masking.
type OutputMask interface {
	Sanitize(s string) string
	Scan(b []byte) int
}

// WriteAuditOutputs writes the report, SARIF, job summary and issue (each
// scanned for values first) and returns the exit code for failOn.
func WriteAuditOutputs(ctx context.Context, rep *auditreport.Report, out AuditOutputs, mask OutputMask, pio lease.IO) (int, error) {
	failOn := out.FailOn
	if failOn == "" {
		failOn = auditreport.High
	}
	var errs []error
	md := rep.Markdown()
	// Subjects and reasons hold names from repositories (jobs, artifacts'
	// files) and shard reports: each is kept on its own line, or a name
	// could start a workflow command on the runner.
	line := func(s string) string { return masking.OneLine(mask.Sanitize(s)) }
	for _, f := range rep.Findings {
		fmt.Fprintf(pio.Stderr, "keylease audit: %s %s: %s\n", f.Severity, f.ID, line(f.Subject))
	}
	for _, u := range rep.Unreached {
		fmt.Fprintf(pio.Stderr, "keylease audit: unreached %s: %s\n", line(u.Subject), line(u.Why))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(pio.Stderr, "keylease audit: skipped %s: %s\n", line(s.Check), line(s.Why))
	}
	fmt.Fprintf(pio.Stderr, "keylease audit: %d finding(s), %d unreached, %d skipped\n", len(rep.Findings), len(rep.Unreached), len(rep.Skipped))
	if p := pio.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendScanned(p, []byte(md+"\n"), mask); err != nil {
			errs = append(errs, fmt.Errorf("job summary %s: %w", p, err))
		}
	}
	if out.ReportPath != "" {
		b, err := rep.Marshal()
		if err == nil {
			err = writeOut(out.ReportPath, b, mask, pio)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--report %s: %w", out.ReportPath, err))
		}
	}
	if out.SARIFPath != "" {
		var buf bytes.Buffer
		err := rep.WriteSARIF(&buf, out.Version, pio.Getenv("GITHUB_REPOSITORY"))
		if err == nil {
			err = writeOut(out.SARIFPath, buf.Bytes(), mask, pio)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--sarif %s: %w", out.SARIFPath, err))
		}
	}
	if out.Issue {
		if err := auditIssue(ctx, rep, rep.IssueBody(auditreport.MaxIssueBody), out.IssueRepo, mask, pio); err != nil {
			errs = append(errs, fmt.Errorf("--issue: %w", err))
		}
	}
	code := rep.ExitCode(failOn)
	if len(errs) > 0 {
		err := errors.Join(errs...)
		if errors.Is(err, auditreport.ErrValueInReport) {
			return lease.ExitLeak, fail(lease.ExitLeak, err)
		}
		return max(code, lease.ExitLease), fail(lease.ExitLease, err)
	}
	return code, nil
}

func auditIssue(ctx context.Context, rep *auditreport.Report, body, repoName string, mask OutputMask, pio lease.IO) error {
	if repoName == "" {
		repoName = pio.Getenv("GITHUB_REPOSITORY")
	}
	owner, name, ok := strings.Cut(repoName, "/")
	if !ok || owner == "" || name == "" {
		return fail(lease.ExitConfig, errors.New("needs GITHUB_REPOSITORY (owner/name) or --issue-repo OWNER/NAME"))
	}
	if mask.Scan([]byte(body)) > 0 {
		return auditreport.ErrValueInReport
	}
	c, err := githubapi.New(githubapi.Options{HTTPClient: transport.New(githubLimits), Getenv: pio.Getenv})
	if err != nil {
		return err
	}
	is, err := c.UpsertIssue(ctx, githubapi.Repo{Owner: owner, Name: name}, githubapi.IssueState{Label: auditreport.IssueLabel, Title: auditreport.IssueTitle, Body: body, Close: rep.Clean()})
	if err != nil {
		return err
	}
	if is != nil {
		fmt.Fprintf(pio.Stderr, "keylease audit: issue %s (%s)\n", is.GetHTMLURL(), is.GetState())
	}
	return nil
}

func writeOut(path string, b []byte, mask OutputMask, pio lease.IO) error {
	if path == "-" {
		return auditreport.WriteScanned(pio.Stdout, b, mask)
	}
	return writeFileScanned(path, os.O_TRUNC, b, mask)
}

func appendScanned(path string, b []byte, mask OutputMask) error {
	return writeFileScanned(path, os.O_APPEND, b, mask)
}

// writeFileScanned writes b to path (opened with flag, created 0600) only
// if mask finds nothing in it: the scan comes first, so a refused output
// neither creates nor truncates the file.
func writeFileScanned(path string, flag int, b []byte, mask OutputMask) error {
	if mask.Scan(b) > 0 {
		return auditreport.ErrValueInReport
	}
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_WRONLY, 0o600) //nolint:gosec // the --report/--sarif/--etag-cache path the operator gave, or GITHUB_STEP_SUMMARY
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

// detectorMask is the merge's scan: shard reports hold no registered value
// (nothing was leased), so only the vendor detectors and fingerprints run.
type detectorMask struct{ sc *masking.Scanner }

func (d detectorMask) Sanitize(s string) string { return s }
func (d detectorMask) Scan(b []byte) int        { return len(d.sc.Scan(b)) }

// RunAuditMerge reads shard reports, merges them into one and writes the
// outputs (report, SARIF, summary, the one issue) as RunAudit does.
func RunAuditMerge(ctx context.Context, paths []string, fps masking.FingerprintList, out AuditOutputs, pio lease.IO) (*auditreport.Report, int, error) {
	if len(paths) == 0 {
		return nil, lease.ExitConfig, fail(lease.ExitConfig, errors.New("audit merge needs the shard reports: keylease audit merge [--report OUT] REPORT"))
	}
	mask := detectorMask{sc: masking.NewScanner(masking.ScanOptions{Detectors: true, Fingerprints: fps.Sums, FingerprintLengths: fps.Lengths})}
	var reps []*auditreport.Report
	for _, p := range paths {
		b, err := os.ReadFile(p) //nolint:gosec // a report path the operator gave
		if err != nil {
			return nil, lease.ExitConfig, fail(lease.ExitConfig, fmt.Errorf("read the report %s: %w", p, err))
		}
		if mask.Scan(b) > 0 {
			return nil, lease.ExitLeak, fail(lease.ExitLeak, fmt.Errorf("the report %s holds what looks like a secret value; it is not merged", p))
		}
		r, err := auditreport.Read(b)
		if err != nil {
			return nil, lease.ExitConfig, fail(lease.ExitConfig, fmt.Errorf("%s: %w", p, err))
		}
		reps = append(reps, r)
	}
	rep := auditreport.Merge(reps...)
	if out.ReportPath == "" {
		out.ReportPath = "-"
	}
	code, err := WriteAuditOutputs(ctx, rep, out, mask, pio)
	return rep, code, err
}
