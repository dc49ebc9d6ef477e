package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/mintname"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/vendorapi"
)

// AuditStore is what the audit needs of Secrets Manager: rotate's calls
// (the pending retirement is rotate's own step) and the version listing
// with per-version access dates.
type AuditStore interface {
	Store
	Versions(ctx context.Context, id, region string) ([]exchange.VersionInfo, error)
}

// AuditVendor is the vendor side of one rotated entry: the validity check
// of the AWSPREVIOUS key and the client that retires it (nil: none).
type AuditVendor struct {
	Validator vendorapi.Validator
	Retirer   vendorapi.Disabler
}

// SecretNameLister lists Actions secret names (githubapi.Client). It needs
// a token that can read secrets; GITHUB_TOKEN cannot.
type SecretNameLister interface {
	RepoSecretNames(ctx context.Context, r githubapi.Repo) ([]string, error)
	OrgSecretNames(ctx context.Context, org string) ([]string, error)
	Environments(ctx context.Context, r githubapi.Repo) ([]string, error)
	EnvSecretNames(ctx context.Context, repoID int, env string) ([]string, error)
	RepoID(ctx context.Context, r githubapi.Repo) (int64, error)
}

// WorkflowReader reads a repository's workflow files (githubapi.Client).
type WorkflowReader interface {
	WorkflowFiles(ctx context.Context, r githubapi.Repo) (map[string][]byte, error)
}

// RunReader reads recent runs, their job logs and artifacts (githubapi.Client).
type RunReader interface {
	Runs(ctx context.Context, r githubapi.Repo, since string) ([]*github.WorkflowRun, error)
	Jobs(ctx context.Context, r githubapi.Repo, runID int64) ([]*github.WorkflowJob, error)
	JobLog(ctx context.Context, r githubapi.Repo, jobID int64) ([]byte, error)
	Artifacts(ctx context.Context, r githubapi.Repo, runID int64) ([]*github.Artifact, error)
	ArtifactFiles(ctx context.Context, r githubapi.Repo, artifactID int64) (map[string][]byte, error)
}

// AuditGitHub is the GitHub side of an audit.
type AuditGitHub interface {
	SecretNameLister
	WorkflowReader
	RunReader
}

// AuditRepo is one repository to audit; ID may be 0 (then read when needed).
type AuditRepo struct {
	githubapi.Repo
	ID int64
}

// MintedKey names the admin client that lists the keys lease-minted for
// entries of one vendor, admin entry and project.
type MintedKey struct{ Vendor, Admin, Project string }

// Auditor runs the audit's checks. Store nil skips the registry checks (a
// shard other than the first); GitHub nil skips the repository checks.
type Auditor struct {
	Config *registry.Config
	// RegistryFile is the registry's path as findings name it (relative
	// to the repository for code scanning); "" is Config.RegistryPath.
	RegistryFile string
	Store        AuditStore
	// Vendor returns the clients of a rotated entry's vendor.
	Vendor func(e *registry.Entry) (AuditVendor, error)
	// Minted returns the lister of lease-minted keys (nil: not listable).
	Minted  func(k MintedKey) (vendorapi.Lister, error)
	GitHub  AuditGitHub
	Scanner *masking.Scanner // detectors and fingerprints for logs and artifacts
	Mask    Masker
	Now     func() time.Time
	// Since bounds the runs whose logs and artifacts are scanned.
	Since time.Duration
	// Concurrency bounds the repositories audited at once (default 4).
	Concurrency int
	// OrphanGrace is how long past its expiry a lease-minted key may live
	// (the lease's own cleanup); default 10 minutes.
	OrphanGrace time.Duration
	// RetireAfter is how long after promotion an old key is due for
	// retirement (what keylease rotate --retire-after was); 0: the
	// environment's TTL cap, rotate's default.
	RetireAfter time.Duration
	// Severity raises a finding's default severity (a policy; never lowers).
	Severity map[string]auditreport.Severity
	Out      io.Writer // progress, value-free

	mu            sync.Mutex
	rep           *auditreport.Report
	secretsDenied bool
}

// Audit-only tag: the versions the audit itself read, and the day, so that
// its own reads are never reported as reads after revocation.
const auditReadTag = "keylease:audit-read"

// Audit runs the registry checks (when Store is set) and the repository
// checks of repos and orgs' secrets (when GitHub is set).
func (a *Auditor) Audit(ctx context.Context, repos []AuditRepo, orgs []string) *auditreport.Report {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Out == nil {
		a.Out = io.Discard
	}
	if a.OrphanGrace <= 0 {
		a.OrphanGrace = 10 * time.Minute
	}
	a.rep = &auditreport.Report{}
	if a.Store != nil && a.Config != nil {
		a.entries(ctx)
	}
	if a.GitHub != nil {
		for _, org := range orgs {
			a.orgSecrets(ctx, org)
		}
		a.repos(ctx, repos)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.secretsDenied {
		a.rep.Skipped = append(a.rep.Skipped, auditreport.Skipped{Check: auditreport.VendorKeyInGitHub,
			Why: "the token cannot list Actions secrets (HTTP 403); give the audit a token with secrets read (a GitHub App token or a fine-grained PAT with Secrets: read); the job's GITHUB_TOKEN cannot"})
	}
	a.rep.Normalize()
	return a.rep
}

func (a *Auditor) add(f auditreport.Finding) {
	def := auditreport.DefaultSeverity(f.ID)
	if f.Severity == "" {
		f.Severity = def
	}
	f.Severity = auditreport.Raise(auditreport.Raise(def, f.Severity), a.Severity[f.ID])
	f.Subject = a.Mask.Sanitize(f.Subject)
	f.Detail = a.Mask.Sanitize(f.Detail)
	a.mu.Lock()
	a.rep.Findings = append(a.rep.Findings, f)
	a.mu.Unlock()
}

func (a *Auditor) unreached(subject string, err error) {
	why := a.Mask.SanitizeError(err).Error()
	a.mu.Lock()
	a.rep.Unreached = append(a.rep.Unreached, auditreport.Unreached{Subject: a.Mask.Sanitize(subject), Why: why})
	a.mu.Unlock()
}

func (a *Auditor) skip(check, why string) {
	a.mu.Lock()
	a.rep.Skipped = append(a.rep.Skipped, auditreport.Skipped{Check: check, Why: why})
	a.mu.Unlock()
}

// entries audits every registry entry, then sweeps lease-minted keys.
func (a *Auditor) entries(ctx context.Context) {
	minted := map[MintedKey]bool{}
	for _, e := range a.Config.Registry.Entries() {
		a.rep.Entries = append(a.rep.Entries, e.Vendor+"."+e.Env)
		switch e.Mode {
		case registry.ModeMinted:
			if e.Admin != "" {
				minted[MintedKey{Vendor: e.Vendor, Admin: e.Admin, Project: e.ProjectID}] = true
			}
			continue
		case registry.ModeFederated:
			continue // nothing stored, minted or rotated
		}
		if e.Ref.SecretID == "" {
			continue // another backend's ref: nothing in Secrets Manager to audit
		}
		a.entry(ctx, e)
	}
	keys := make([]MintedKey, 0, len(minted))
	for k := range minted {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		a.orphans(ctx, k)
	}
}

func (a *Auditor) entryFinding(e *registry.Entry, id, detail string) auditreport.Finding {
	file := a.RegistryFile
	if file == "" {
		file = a.Config.RegistryPath
	}
	return auditreport.Finding{ID: id, Subject: e.Vendor + "." + e.Env + " (" + e.Ref.Raw + ")", Detail: detail, File: file, Line: e.Line}
}

func (a *Auditor) entry(ctx context.Context, e *registry.Entry) {
	name := e.Vendor + "." + e.Env
	now := a.Now().UTC()
	if !e.Revoked && (e.Mode == "" || e.Mode == registry.ModeStored) && Due(e, a.Config.Policy, now) {
		f := a.entryFinding(e, auditreport.RotationOverdue, "never rotated (no last_rotated)")
		if !e.LastRotated.IsZero() {
			f.Detail = fmt.Sprintf("last rotated %s; rotation_days for %s is %d", e.LastRotated.Format(time.DateOnly), e.Env, a.Config.Policy.RotationDays[e.Env])
		}
		if e.Env == "prod" {
			f.Severity = auditreport.Medium
		}
		a.add(f)
	}
	st, err := a.Store.Describe(ctx, e.Ref.SecretID, e.Ref.Region)
	if isNotFound(err) {
		if !e.Revoked {
			a.add(a.entryFinding(e, auditreport.SecretMissing, "no secret "+e.Ref.SecretID+" in Secrets Manager"))
		}
		return
	}
	if err != nil {
		a.unreached(name+" (Secrets Manager)", err)
		return
	}
	cur := st.VersionWith(stageCurrent)
	if cur == "" {
		if !e.Revoked {
			a.add(a.entryFinding(e, auditreport.SecretMissing, "the secret has no AWSCURRENT version"))
		}
		return
	}
	// Access dates first: every read below moves them.
	versions, err := a.Store.Versions(ctx, e.Ref.SecretID, e.Ref.Region)
	if err != nil {
		a.unreached(name+" (version access dates)", err)
		return
	}
	own := parseAuditRead(st.Tags[auditReadTag])
	var read []string
	if e.Revoked {
		read = append(read, cur)
	}
	old, oldOK := a.oldKeyDue(e, st, cur)
	if oldOK {
		read = append(read, old.prev.Old)
	}
	// The own-reads tag goes first: a run killed between a read and the
	// tag would leave a read that the next audit reports as one after the
	// revocation. A failed write is tried once more after the reads.
	var tagErr error
	if len(read) > 0 {
		tagErr = a.Store.Tag(ctx, e.Ref.SecretID, e.Ref.Region, map[string]string{auditReadTag: own.with(now, read).String()})
	}
	x := a.runFor(e, 0)
	if e.Revoked {
		ok, rerr := a.isTombstone(ctx, x, cur)
		switch {
		case rerr != nil:
			a.unreached(name+" (AWSCURRENT)", rerr)
		case !ok:
			a.add(a.entryFinding(e, auditreport.RevokedStillCurrent, "AWSCURRENT (version "+cur+") is not a revocation tombstone: a lease still gets the revoked key"))
		}
		a.accessedAfter(e, versions, cur, ok, own)
	}
	if oldOK {
		a.oldKey(ctx, e, st, old)
	}
	if tagErr != nil {
		if terr := a.Store.Tag(ctx, e.Ref.SecretID, e.Ref.Region, map[string]string{auditReadTag: own.with(now, read).String()}); terr != nil {
			a.unreached(name+" (recording the audit's own reads)", terr)
		}
	}
}

// isTombstone reads AWSCURRENT (registered with the maskers first).
func (a *Auditor) isTombstone(ctx context.Context, x *run, cur string) (bool, error) {
	v, err := x.r.Store.Get(ctx, x.id, x.rg, cur)
	if err != nil {
		return false, err
	}
	defer v.Wipe()
	if err := x.r.Mask.Register(v); err != nil {
		return false, err
	}
	_, ok := keyform.ParseTombstone(v.Bytes())
	return ok, nil
}

// accessedAfter reports versions that held the revoked key and were read
// on or after the revocation day, from the dates listed before any read.
func (a *Auditor) accessedAfter(e *registry.Entry, versions []exchange.VersionInfo, cur string, curIsTomb bool, own auditRead) {
	if e.RevokedAt.IsZero() {
		a.skip(auditreport.AccessedAfterRevocation+" "+e.Vendor+"."+e.Env, "the registry entry has no revoked_at to compare access dates with; add revoked_at")
		return
	}
	revDay := e.RevokedAt.UTC().Truncate(24 * time.Hour)
	for _, v := range versions {
		if (curIsTomb && v.ID == cur) || v.LastAccessed.IsZero() {
			continue
		}
		day := v.LastAccessed.UTC().Truncate(24 * time.Hour)
		if day.Before(revDay) || own.has(day, v.ID) {
			continue
		}
		f := a.entryFinding(e, auditreport.AccessedAfterRevocation, fmt.Sprintf(
			"version %s was last read on %s, revoked_at %s (Secrets Manager keeps the day of the last read only: day resolution, so a read on the revocation day itself may have come before it)",
			v.ID, day.Format(time.DateOnly), e.RevokedAt.UTC().Format(time.RFC3339)))
		f.Subject += " version " + v.ID
		a.add(f)
	}
}

// runFor is a rotate run over e for the audit's use of rotate's steps.
func (a *Auditor) runFor(e *registry.Entry, retireAfter time.Duration) *run {
	r := &Rotator{Store: a.Store, Mask: a.Mask, Out: a.Out, Now: a.Now, Sleep: func(context.Context, time.Duration) error { return nil }}
	return stepRun(r, e, retireAfter, "keylease audit "+e.Vendor+"."+e.Env)
}

// stepRun is a rotate run over e for another command's use of rotate's
// steps (the audit's and the incident's retirement), its lines prefixed.
func stepRun(r *Rotator, e *registry.Entry, retireAfter time.Duration, prefix string) *run {
	x := &run{r: r, t: Target{Entry: e, RetireAfter: retireAfter, RegistryUpdate: UpdateNone}, e: e, id: e.Ref.SecretID, rg: e.Ref.Region,
		rec: &Record{Schema: RecordSchema, Vendor: e.Vendor, Environment: e.Env, Ref: e.Ref.Raw}}
	if r.Out == nil {
		r.Out = io.Discard
	}
	x.journal = journal{prefix: prefix, out: r.Out, mask: r.Mask, now: r.Now, steps: &x.rec.Steps}
	return x
}

// dueOld is a pending retirement come due, with the vendor client that
// checks and retires its key.
type dueOld struct {
	prev        state
	due         time.Time
	retireAfter time.Duration
	v           AuditVendor
}

// oldKeyDue reports rotate's pending retirement whose time has passed and
// whose key oldKey will read (it reports what keeps it from that).
func (a *Auditor) oldKeyDue(e *registry.Entry, st exchange.SecretState, cur string) (dueOld, bool) {
	// stateOf, as rotate reads it: a promotion killed before its tag is
	// unfinished, not an older rotation's retirement come due.
	prev, ok := stateOf(st, e.Vendor, e.Env, a.Now())
	pend := st.VersionWith(stagePending)
	unfinished := ok && prev.New == cur && prev.Registry != regDone
	inFlight := ok && pend != "" && pend != cur && prev.New == pend
	if !ok || prev.Retire != retirePending || unfinished || inFlight || prev.Old == "" || prev.Old == cur {
		return dueOld{}, false
	}
	retireAfter := a.RetireAfter
	if retireAfter <= 0 {
		retireAfter, _ = a.Config.Policy.TTLCap(e.Env)
	}
	due := prev.retireAt(retireAfter)
	if a.Now().Before(due) {
		return dueOld{}, false
	}
	name := e.Vendor + "." + e.Env
	if a.Vendor == nil {
		a.unreached(name+" (old key)", errors.New("no vendor client to check and retire the old key"))
		return dueOld{}, false
	}
	v, err := a.Vendor(e)
	if err != nil {
		a.unreached(name+" (old key)", err)
		return dueOld{}, false
	}
	return dueOld{prev: prev, due: due, retireAfter: retireAfter, v: v}, true
}

// oldKey checks a pending retirement come due (oldKeyDue): the AWSPREVIOUS
// key still valid at the vendor is a finding, and the retirement is
// performed with rotate's own retire step.
func (a *Auditor) oldKey(ctx context.Context, e *registry.Entry, st exchange.SecretState, d dueOld) {
	name := e.Vendor + "." + e.Env
	prev, due, retireAfter, v := d.prev, d.due, d.retireAfter, d.v
	x := a.runFor(e, retireAfter)
	x.r.Retirer = v.Retirer
	x.labels = st.Stages
	old, err := x.read(ctx, prev.Old)
	if err != nil {
		a.unreached(name+" (AWSPREVIOUS version "+prev.Old+")", err)
		return
	}
	verdict := vendorapi.Indeterminate
	var verr error
	if v.Validator != nil {
		verdict, verr = v.Validator.Check(ctx, old.Key)
	}
	old.Key.Wipe()
	if verdict == vendorapi.Indeterminate {
		if verr == nil {
			verr = errors.New("no validity check for the vendor")
		}
		a.unreached(name+" (AWSPREVIOUS key at the vendor)", fmt.Errorf("the vendor's validity check was indeterminate: %w", verr))
	}
	var outcome string
	if v.Retirer == nil {
		outcome = "no admin client for the vendor: the retirement is still pending"
	} else if rerr := x.retire(ctx, prev, false, true); rerr != nil {
		outcome = "the audit's retirement failed: " + a.Mask.SanitizeError(rerr).Error()
	} else if n := len(x.rec.Steps); n > 0 {
		outcome = "the audit retired it: " + x.rec.Steps[n-1].Detail
	}
	if verdict == vendorapi.Valid {
		a.add(a.entryFinding(e, auditreport.OldKeyNotRetired, fmt.Sprintf("AWSPREVIOUS (version %s, key %s) is valid at the vendor; retire time %s passed; %s",
			prev.Old, old.KeyID, due.UTC().Format(time.RFC3339), outcome)))
	}
}

// orphans lists the keys minted for leases and reports those past expiry.
func (a *Auditor) orphans(ctx context.Context, k MintedKey) {
	subject := k.Vendor + "." + k.Admin + " minted keys"
	if a.Minted == nil {
		a.skip(auditreport.OrphanedMintedKey+" "+k.Vendor, "no admin client to list the vendor's keys")
		return
	}
	l, err := a.Minted(k)
	if err != nil || l == nil {
		if err == nil {
			err = errors.New("this vendor cannot list keys by API")
		}
		a.unreached(subject, err)
		return
	}
	keys, err := l.List(ctx)
	if err != nil {
		a.unreached(subject, err)
		return
	}
	now := a.Now()
	for _, key := range keys {
		n, ok := mintname.Parse(key.Name)
		if !ok || n.Vendor != k.Vendor || !n.Orphaned(now, a.OrphanGrace) {
			continue
		}
		a.add(auditreport.Finding{ID: auditreport.OrphanedMintedKey, Subject: k.Vendor + " key " + key.ID + " (" + key.Name + ")",
			Detail: fmt.Sprintf("minted for run %s of %s.%s, lease expired %s; delete it at the vendor", n.Run, n.Vendor, n.Env, n.Expires.Format(time.RFC3339))})
	}
}

func isNotFound(err error) bool {
	var ee *exchange.Error
	return errors.As(err, &ee) && ee.Code == "ResourceNotFoundException"
}

// auditRead is the auditReadTag: a day and the versions read on it.
type auditRead struct {
	day time.Time
	ids []string
}

const maxAuditReadIDs = 6 // a tag value holds 256 characters

func parseAuditRead(s string) auditRead {
	f := strings.Fields(s)
	if len(f) == 0 {
		return auditRead{}
	}
	d, err := time.Parse(time.DateOnly, f[0])
	if err != nil {
		return auditRead{}
	}
	ids := f[1:]
	for _, id := range ids {
		if !tagToken.MatchString(id) {
			return auditRead{}
		}
	}
	return auditRead{day: d, ids: ids}
}

func (r auditRead) has(day time.Time, id string) bool {
	return !r.day.IsZero() && r.day.Equal(day) && slices.Contains(r.ids, id)
}

func (r auditRead) with(now time.Time, ids []string) auditRead {
	day := now.UTC().Truncate(24 * time.Hour)
	out := auditRead{day: day}
	if r.day.Equal(day) {
		out.ids = append(out.ids, r.ids...)
	}
	for _, id := range ids {
		if !slices.Contains(out.ids, id) {
			out.ids = append(out.ids, id)
		}
	}
	if len(out.ids) > maxAuditReadIDs {
		out.ids = out.ids[len(out.ids)-maxAuditReadIDs:]
	}
	return out
}

func (r auditRead) String() string {
	return strings.TrimSpace(r.day.Format(time.DateOnly) + " " + strings.Join(r.ids, " "))
}
