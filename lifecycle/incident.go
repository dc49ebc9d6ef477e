package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/runscan"
	"github.com/keylease/keylease/scansource"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
	"github.com/keylease/keylease/vendorapi"
)

// IncidentSchema names the incident record's format.
const IncidentSchema = "keylease.incident-record/v1"

// IncidentTypes are the values of --type.
var IncidentTypes = []string{"suspected-leak", "confirmed-leak", "other"}

// Incident steps, in their order.
const (
	IncStepRevoke     = "revoke"
	IncStepRotate     = "rotate"
	IncStepInvalidate = "invalidate"
	IncStepScanPaths  = "scan-paths"
	IncStepScanRuns   = "scan-runs"
)

// DefaultIncidentSince is how far back --repo's runs are scanned by default.
const DefaultIncidentSince = 7 * 24 * time.Hour

// maxScanFile is the largest file read whole; larger ones are streamed.
const maxScanFile = 64 << 20

// IncidentOptions are `keylease incident`'s inputs.
type IncidentOptions struct {
	Lease          lease.Options
	Vendor, Env    string
	Type           string
	ScanPaths      []string
	Repo           string        // owner/name: scan its recent runs' logs and artifacts
	Since          time.Duration // how far back (0: DefaultIncidentSince)
	RegistryUpdate string
	RecordDir      string

	// Tests and the demo.
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
	VerifyFor time.Duration
	Vendors   vendorapi.Options
}

// IncidentRecord is the incident record: the type only (never the
// operator's notes), each step with its outcome and time, where the value
// was found (never the value), and what is left to do by hand.
type IncidentRecord struct {
	Schema           string              `json:"schema"`
	KeyleaseVersion  string              `json:"keylease_version"`
	Run              record.Run          `json:"run"`
	Session          *record.Session     `json:"aws_session,omitempty"`
	Type             string              `json:"type"`
	Vendor           string              `json:"vendor"`
	Environment      string              `json:"environment"`
	Ref              string              `json:"ref"`
	RevokedVersionID string              `json:"revoked_version_id,omitempty"`
	RevokedKeyID     string              `json:"revoked_key_id,omitempty"`
	NewVersionID     string              `json:"new_version_id,omitempty"`
	NewKeyID         string              `json:"new_key_id,omitempty"`
	Steps            []Step              `json:"steps"`
	Revocation       *RevocationRecord   `json:"revocation,omitempty"`
	Rotation         *Record             `json:"rotation,omitempty"`
	Scanned          ScanCounts          `json:"scanned"`
	Findings         []IncidentFinding   `json:"findings"`
	Unreached        []string            `json:"unreached,omitempty"`
	LeftByHand       []string            `json:"left_by_hand"`
	Outcome          string              `json:"outcome"`
	ExitCode         int                 `json:"exit_code"`
	Verification     record.Verification `json:"verification"`
}

// ScanCounts is how much the incident's scan read.
type ScanCounts struct {
	Files     int `json:"files"`
	Runs      int `json:"runs"`
	Logs      int `json:"logs"`
	Artifacts int `json:"artifacts"`
}

// IncidentFinding is one place the revoked value was found.
type IncidentFinding struct {
	Source     string `json:"source"` // path, log or artifact
	Path       string `json:"path"`   // file, job name or artifact file
	RunID      int64  `json:"run_id,omitempty"`
	JobID      int64  `json:"job_id,omitempty"`
	ArtifactID int64  `json:"artifact_id,omitempty"`
	Line       int    `json:"line"`
	Column     int    `json:"column"`
}

// IncidentResult is one incident's outcome.
type IncidentResult struct {
	ExitCode   int
	Record     *IncidentRecord
	RecordPath string
}

// incident is one run of the response; every step appends to rec.
type incident struct {
	journal
	o   IncidentOptions
	s   *session
	rec *IncidentRecord
	// fingerprints of the revoked value and of each encoded form of it
	// (base64, hex, …): sha256 → length, in memory only.
	fps    map[string]int
	failed bool
}

// RunIncident responds to a leaked key in the order an incident needs:
// revoke at the vendor, rotate a replacement, take the compromised
// version's labels, scan paths and recent runs for the value, and write
// the incident record. Every step is recorded, also after one fails.
func RunIncident(ctx context.Context, o IncidentOptions, pio lease.IO) (*IncidentResult, error) {
	if !slices.Contains(IncidentTypes, o.Type) {
		return nil, fail(lease.ExitConfig, fmt.Errorf("--type %q: use %s", o.Type, strings.Join(IncidentTypes, ", ")))
	}
	var repo githubapi.Repo
	if o.Repo != "" {
		owner, name, ok := strings.Cut(o.Repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fail(lease.ExitConfig, fmt.Errorf("--repo %q: give owner/name", o.Repo))
		}
		repo = githubapi.Repo{Owner: owner, Name: name}
	}
	for _, p := range o.ScanPaths {
		if _, err := os.Stat(p); err != nil {
			return nil, fail(lease.ExitConfig, fmt.Errorf("--scan %s: %w", p, err))
		}
	}
	if o.Since <= 0 {
		o.Since = DefaultIncidentSince
	}
	s, err := openSession(ctx, o.Lease, pio, o.Vendor, o.Env, o.RegistryUpdate, false, o.Vendors, o.Now)
	if err != nil {
		return nil, err
	}
	defer s.l.Close()
	e := s.e
	x := &incident{o: o, s: s, rec: &IncidentRecord{Schema: IncidentSchema, Type: o.Type, Vendor: e.Vendor, Environment: e.Env,
		Ref: e.Ref.Raw, Steps: []Step{}, Findings: []IncidentFinding{}, LeftByHand: []string{}}}
	x.journal = journal{prefix: "keylease incident " + e.Vendor + "." + e.Env, out: pio.Stderr, mask: s.l, now: s.now, steps: &x.rec.Steps}
	vid := x.revoke(ctx)
	x.rotate(ctx, vid)
	x.invalidate(ctx, vid)
	x.scanPaths()
	x.scanRuns(ctx, repo)
	return x.finish(pio)
}

// step records a step and prints it: an incident is read as it happens.
func (x *incident) step(name, outcome, detail string) {
	if outcome == OutcomeFailed {
		x.failed = true
	}
	x.journal.step(name, outcome, detail)
	x.say("%-10s %-7s %s", name, outcome, detail)
}

func (x *incident) byHand(s string) { x.rec.LeftByHand = append(x.rec.LeftByHand, x.s.l.Sanitize(s)) }

// revoke disables the current key at the vendor and verifies it is
// refused; it returns the compromised version ("" when unknown).
func (x *incident) revoke(ctx context.Context) string {
	check, dis, err := revokeClients(x.s.e, x.s.vo, x.s.admin)
	if err != nil {
		x.step(IncStepRevoke, OutcomeFailed, err.Error())
		x.byHand("disable the key at the vendor's console")
		return ""
	}
	rv := &Revoker{Store: x.s.store, Validator: check, Disabler: dis, Mask: x.s.l, Out: x.out, Now: x.s.now, Sleep: x.o.Sleep, VerifyFor: x.o.VerifyFor,
		OnKey: func(k secret.Value) {
			x.fps = masking.FormFingerprints(k)
		}}
	rec, err := rv.Revoke(ctx, RevokeTarget{Entry: x.s.e, Version: x.target(ctx), Reason: x.o.Type, VendorOnly: true})
	x.rec.Revocation = rec
	if rec != nil {
		x.rec.RevokedVersionID, x.rec.RevokedKeyID = rec.VersionID, rec.KeyID
		rec.Verification = sealedBy(x.s.l)
	}
	switch {
	case err != nil:
		x.step(IncStepRevoke, OutcomeFailed, err.Error())
		if rec != nil && rec.Manual != nil {
			x.byHand(rec.Manual.String() + "; then rerun keylease revoke --confirm-manual for this version")
		} else {
			x.byHand("disable the key at the vendor's console and check that it is refused")
		}
	case rec.AlreadyRevoked:
		x.step(IncStepRevoke, OutcomeSkipped, "version "+rec.VersionID+" already revoked at the vendor")
	default:
		x.step(IncStepRevoke, OutcomeDone, "version "+rec.VersionID+" (key "+orUnknown(rec.KeyID)+"): vendor "+rec.VendorResult+", now "+rec.Validity)
	}
	if rec == nil {
		return ""
	}
	return rec.VersionID
}

// target is the version to revoke: AWSCURRENT, unless an earlier run of
// this incident already revoked a version and rotated a replacement in for
// it (a rerun must not revoke the replacement), also one killed before the
// rotation's tag (stateOf).
func (x *incident) target(ctx context.Context) string {
	e := x.s.e
	desc, err := x.s.store.Describe(ctx, e.Ref.SecretID, e.Ref.Region)
	if err != nil {
		return VersionCurrent // Revoke's own Describe reports the error
	}
	rev, ok := revStateOf(desc.Tags, e.Vendor, e.Env)
	rot, rok := stateOf(desc, e.Vendor, e.Env, x.s.now())
	if cur := desc.VersionWith(stageCurrent); ok && rev.Local == progSkipped && rok && rot.Old == rev.Version && cur != rev.Version {
		// Nothing in the secret tells a rerun from a new leak of the
		// replacement: say what this run does, and what to run for that.
		x.say("resuming the incident of version %s; the replacement (AWSCURRENT, version %s) is not revoked", rev.Version, cur)
		x.byHand("if the replacement (version " + cur + ") leaked as well, revoke it: keylease revoke --vendor " + e.Vendor + " --env " + e.Env + " --reason " + x.o.Type + ", then keylease rotate --vendor " + e.Vendor + " --env " + e.Env)
		return rev.Version
	}
	if cur := desc.VersionWith(stageCurrent); ok && cur != "" && cur != rev.Version && cur != requestToken(rev.ID) && !rev.complete() {
		// An unfinished revocation of another version: revoke asks which
		// one "current" means; an incident is about the current key.
		return cur
	}
	return VersionCurrent
}

// rotate puts a replacement in: a fresh rotation while the compromised
// version is AWSCURRENT, the rest of one already under way otherwise.
func (x *incident) rotate(ctx context.Context, vid string) {
	e := x.s.e
	if vid == "" {
		x.step(IncStepRotate, OutcomeSkipped, "the compromised version is not known")
		x.byHand("rotate a replacement in: keylease rotate --vendor " + e.Vendor + " --env " + e.Env)
		return
	}
	if e.Rotation == nil {
		x.step(IncStepRotate, OutcomeFailed, "the entry has no rotation block")
		x.byHand("put a replacement key in Secrets Manager as AWSCURRENT, or add rotation: {method: mint|staged, admin: ENV} and rerun")
		return
	}
	desc, err := x.s.store.Describe(ctx, e.Ref.SecretID, e.Ref.Region)
	if err != nil {
		x.step(IncStepRotate, OutcomeFailed, err.Error())
		x.byHand("rotate a replacement in: keylease rotate --vendor " + e.Vendor + " --env " + e.Env)
		return
	}
	cur := desc.VersionWith(stageCurrent)
	prev, hasPrev := stateOf(desc, e.Vendor, e.Env, x.s.now())
	if cur != vid && (!hasPrev || prev.Old != vid) {
		x.step(IncStepRotate, OutcomeSkipped, "AWSCURRENT is already version "+cur+", not the compromised one")
		return
	}
	r := &Rotator{Store: x.s.store, PR: x.s.pr, Mask: x.s.l, Out: x.out, Now: x.s.now, Sleep: x.o.Sleep}
	if err := vendorClients(r, e, x.s.vo, x.s.admin); err != nil {
		x.step(IncStepRotate, OutcomeFailed, err.Error())
		x.byHand("rotate a replacement in: keylease rotate --vendor " + e.Vendor + " --env " + e.Env)
		return
	}
	prior, err := x.retirePrior(ctx, r, desc, vid)
	if err != nil {
		x.step(IncStepRotate, OutcomeFailed, err.Error())
		x.byHand("retire the previous rotation's old key at the vendor, then rotate a replacement in: keylease rotate --vendor " + e.Vendor + " --env " + e.Env)
		return
	}
	// The old key is already dead at the vendor: nothing to wait for.
	t := Target{Entry: e, RegistryPath: x.o.Lease.RegistryPath, RegistryUpdate: x.s.mode, RetireAfter: 0,
		Repo: x.s.repo, RepoPath: repoPath(x.o.Lease.RegistryPath, x.s.getenv), Force: cur == vid}
	rec, err := r.Rotate(ctx, t)
	if rec != nil {
		rec.Verification = sealedBy(x.s.l)
		rec.Outcome, rec.ExitCode = OutcomeDone, codeOf(err)
		if err == nil {
			rec.ExitCode = 0
		} else {
			rec.Outcome = OutcomeFailed
		}
		x.rec.Rotation = rec
		x.rec.NewVersionID, x.rec.NewKeyID = rec.NewVersionID, rec.NewKeyID
	}
	if err != nil {
		x.step(IncStepRotate, OutcomeFailed, err.Error())
		x.byHand("finish the rotation: keylease rotate --vendor " + e.Vendor + " --env " + e.Env + " (it resumes), then rerun keylease incident")
		return
	}
	x.step(IncStepRotate, OutcomeDone, "AWSCURRENT is the replacement version "+rec.NewVersionID+prior)
}

// retirePrior retires an earlier rotation's old key whose retirement is
// still pending behind a retire-after longer than the TTL cap: rotate
// refuses to start until then (its label would go), and the revoked key
// would stay current that long. No lease holds a key past the TTL cap, so
// here the key is retired once that much has passed since its promotion
// (waiting up to MaxWait), with rotate's own retire step. It returns what
// to add to the rotate step's detail.
func (x *incident) retirePrior(ctx context.Context, r *Rotator, desc exchange.SecretState, vid string) (string, error) {
	e := x.s.e
	prev, ok := stateOf(desc, e.Vendor, e.Env, x.s.now())
	cur := desc.VersionWith(stageCurrent)
	if !ok || prev.Retire != retirePending || prev.Registry != regDone || prev.New != cur || prev.Old == cur || prev.Old == vid || desc.VersionWith(stagePending) != "" {
		return "", nil
	}
	ttl, _ := x.s.cfg.Policy.TTLCap(e.Env)
	if r.Sleep == nil {
		r.Sleep = transport.Sleep
	}
	run := stepRun(r, e, ttl, "keylease incident "+e.Vendor+"."+e.Env)
	run.labels = desc.Stages
	prev.Due = time.Time{} // the promoting run's longer retire-after gives way to the TTL cap
	if err := run.retire(ctx, prev, true, true); err != nil {
		return "", fmt.Errorf("retire the previous rotation's old key (version %s) before the replacement: %w", prev.Old, err)
	}
	if s, _ := parseState(run.lastTag); s.Retire == retirePending {
		return "", fmt.Errorf("the previous rotation's old key (version %s) is still within the TTL cap (%s) of its promotion: a lease may hold it; rerun keylease incident after %s",
			prev.Old, ttl, prev.At.Add(ttl).UTC().Format(time.RFC3339))
	}
	n := len(run.rec.Steps)
	return "; first, the previous rotation's old key (version " + prev.Old + "): " + run.rec.Steps[n-1].Detail, nil
}

// invalidate takes every label off the compromised version; the entry
// stays live with its replacement, so it is not marked revoked.
func (x *incident) invalidate(ctx context.Context, vid string) {
	e := x.s.e
	if vid == "" {
		x.step(IncStepInvalidate, OutcomeSkipped, "the compromised version is not known")
		return
	}
	if err := unlabel(ctx, x.s.store, e.Ref.SecretID, e.Ref.Region, vid); err != nil {
		x.step(IncStepInvalidate, OutcomeFailed, err.Error())
		x.byHand("once a replacement is AWSCURRENT, take the labels off version " + vid + " (aws secretsmanager update-secret-version-stage … --remove-from-version-id " + vid + ")")
		return
	}
	x.step(IncStepInvalidate, OutcomeDone, "version "+vid+" keeps no staging label")
}

// scanner looks for the revoked value, raw or encoded, by the fingerprints
// of its forms alone.
func (x *incident) scanner() *masking.Scanner {
	refs := make(map[string]string, len(x.fps))
	lengths := make([]int, 0, len(x.fps))
	for h, n := range x.fps {
		refs[h] = x.s.e.Vendor + "." + x.s.e.Env + " (revoked)"
		lengths = append(lengths, n)
	}
	return masking.NewScanner(masking.ScanOptions{Fingerprints: refs, FingerprintLengths: lengths})
}

func (x *incident) scanPaths() {
	if len(x.o.ScanPaths) == 0 {
		x.step(IncStepScanPaths, OutcomeSkipped, "no --scan paths given")
		x.byHand("scan the repository for the revoked value: keylease incident --scan . (or keylease scan --git)")
		return
	}
	if len(x.fps) == 0 {
		x.step(IncStepScanPaths, OutcomeFailed, "the revoked value could not be read, so it has no fingerprint")
		return
	}
	sc := x.scanner()
	found := len(x.rec.Findings)
	var errs []string
	var buf []byte
	for _, root := range x.o.ScanPaths {
		// The walk of keylease scan: no link followed, no FIFO waited on,
		// each file opened as the walk saw it.
		err := scansource.Walk(root, nil, 1, func(b *scansource.Batch) error {
			for i := range b.Names {
				x.rec.Scanned.Files++
				if err := x.scanFile(sc, b, i, &buf); err != nil {
					errs = append(errs, x.s.l.Sanitize(b.Path(i))+": "+err.Error())
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Sprintf("walk %s: %v", root, err))
		}
	}
	x.rec.Unreached = append(x.rec.Unreached, errs...)
	detail := fmt.Sprintf("%d file(s) read, %d place(s) hold the revoked value", x.rec.Scanned.Files, len(x.rec.Findings)-found)
	if len(errs) > 0 {
		x.step(IncStepScanPaths, OutcomeFailed, detail+fmt.Sprintf("; %d could not be read (not known to be clean)", len(errs)))
		return
	}
	x.step(IncStepScanPaths, OutcomeDone, detail)
}

func (x *incident) scanFile(sc *masking.Scanner, bt *scansource.Batch, i int, buf *[]byte) error {
	path := bt.Path(i)
	limit := int64(maxScanFile)
	if scansource.IsZip(path) {
		limit = scansource.DefaultLimits.TotalBytes
	}
	b, big, err := bt.Read(i, (*buf)[:0], limit)
	*buf = b[:0]
	if err != nil {
		return err
	}
	if big {
		if scansource.IsZip(path) {
			return fmt.Errorf("a zip archive of more than %d bytes: %w", scansource.DefaultLimits.TotalBytes, scansource.ErrZipBomb)
		}
		// Streamed, from the descriptor the walk opened: the finding says
		// the file, at line 0 (not counted).
		f, err := bt.Open(i)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read-only
		fs, err := sc.ScanReader(f)
		for range fs {
			x.rec.Findings = append(x.rec.Findings, IncidentFinding{Source: "path", Path: x.s.l.Sanitize(path)})
		}
		return err
	}
	defer clear(b)
	return scansource.Expand(scansource.Item{Path: path, Data: b}, scansource.DefaultLimits, func(it scansource.Item) error {
		fs := sc.Scan(it.Data)
		if len(fs) == 0 {
			return nil
		}
		lc := scansource.NewLineCounter(it.Data)
		for _, f := range fs {
			line, col := lc.At(int(f.Offset))
			x.rec.Findings = append(x.rec.Findings, IncidentFinding{Source: "path", Path: x.s.l.Sanitize(it.Path), Line: line, Column: col})
		}
		return nil
	})
}

func (x *incident) scanRuns(ctx context.Context, repo githubapi.Repo) {
	if repo.Owner == "" {
		x.step(IncStepScanRuns, OutcomeSkipped, "no --repo given")
		x.byHand("scan recent workflow logs and artifacts: keylease incident --repo OWNER/NAME (or keylease audit)")
		return
	}
	if len(x.fps) == 0 {
		x.step(IncStepScanRuns, OutcomeFailed, "the revoked value could not be read, so it has no fingerprint")
		return
	}
	// githubapi's own bounded client: downloads answer 302, which the
	// no-redirect client of the registry pull request refuses.
	gc, err := githubapi.New(githubapi.Options{Getenv: x.s.getenv})
	if err != nil {
		x.step(IncStepScanRuns, OutcomeFailed, err.Error())
		return
	}
	since := x.s.now().Add(-x.o.Since)
	res, err := runscan.Scan(ctx, gc, repo, since, x.scanner().Scan)
	if err != nil {
		x.step(IncStepScanRuns, OutcomeFailed, err.Error())
		x.byHand("scan " + repo.String() + "'s recent workflow logs and artifacts (GITHUB_TOKEN needs actions: read)")
		return
	}
	x.rec.Scanned.Runs, x.rec.Scanned.Logs, x.rec.Scanned.Artifacts = res.Runs, res.Logs, res.Artifacts
	for _, f := range res.Findings {
		x.rec.Findings = append(x.rec.Findings, IncidentFinding{Source: f.Kind, Path: x.s.l.Sanitize(f.Name), RunID: f.RunID, JobID: f.JobID, ArtifactID: f.ArtifactID, Line: f.Line, Column: f.Column})
	}
	for _, u := range res.Unreached {
		x.rec.Unreached = append(x.rec.Unreached, x.s.l.Sanitize(u))
	}
	detail := fmt.Sprintf("%s since %s: %d run(s), %d log(s), %d artifact(s), %d place(s) hold the revoked value", repo, since.Format(time.DateOnly), res.Runs, res.Logs, res.Artifacts, len(res.Findings))
	if len(res.Unreached) > 0 {
		x.step(IncStepScanRuns, OutcomeFailed, detail+fmt.Sprintf("; %d item(s) could not be read", len(res.Unreached)))
		return
	}
	x.step(IncStepScanRuns, OutcomeDone, detail)
}

// finish writes the record and picks the exit code: 4 when the value was
// found anywhere, 3 when any step failed, else 0.
func (x *incident) finish(pio lease.IO) (*IncidentResult, error) {
	x.fps = nil
	rec := x.rec
	if len(rec.Findings) > 0 {
		x.byHand("remove the revoked value from every place listed in findings (and from git history with git filter-repo; delete the affected workflow runs' logs and artifacts)")
	}
	code := 0
	var cause error
	switch {
	case len(rec.Findings) > 0:
		code, cause = lease.ExitLeak, fmt.Errorf("the revoked value was found in %d place(s); the incident record lists them", len(rec.Findings))
	case x.failed:
		code, cause = lease.ExitLease, errors.New("a step of the incident failed; the incident record says which and what is left by hand")
	}
	rec.KeyleaseVersion = x.o.Lease.Version
	rec.Run, rec.Session = x.s.runInfo()
	rec.ExitCode, rec.Outcome = code, OutcomeDone
	if code != 0 {
		rec.Outcome = OutcomeFailed
	}
	rec.Verification = sealedBy(x.s.l)
	path := kindRecordPath(x.o.RecordDir, pio.Getenv, "incident", x.s.e)
	var err error
	if code != 0 {
		err = fail(code, cause)
	}
	err = x.s.seal(path, rec, err)
	res := &IncidentResult{Record: rec, ExitCode: code}
	if _, serr := os.Lstat(path); serr == nil {
		res.RecordPath = path
		fmt.Fprintf(pio.Stderr, "keylease incident %s.%s: incident record %s\n", x.s.e.Vendor, x.s.e.Env, x.s.l.Sanitize(path))
	}
	if err != nil {
		res.ExitCode = codeOf(err)
		return res, fail(res.ExitCode, x.s.l.SanitizeError(err))
	}
	return res, nil
}
