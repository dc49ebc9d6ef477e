package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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

// RevocationSchema names the revocation record's format.
const RevocationSchema = "keylease.revocation-record/v1"

// Revocation steps, in order; Crash hooks and the record use them.
const (
	StepDisable    = "disable"
	StepVerify     = "verify"
	StepInvalidate = "invalidate"
	// StepInvalidateTagged is the crash point between writing the revocation
	// tag and moving AWSCURRENT to the tombstone (a Crash hook name only).
	StepInvalidateTagged = "invalidate-tagged"
)

// Version selectors of --version besides a version id.
const (
	VersionCurrent  = "current"
	VersionPrevious = "previous"
)

// stageTombstone labels a tombstone version between its put and the move
// of AWSCURRENT to it (a put needs a label, or Secrets Manager makes the
// version AWSCURRENT at once, from whichever version holds it then).
const stageTombstone = "KEYLEASE_TOMBSTONE"

// DefaultVerifyFor is how long verification waits for a disabled key to
// stop working everywhere at the vendor.
const DefaultVerifyFor = 60 * time.Second

// verifyEvery is the wait between two validity checks while verifying.
const verifyEvery = 5 * time.Second

// RevocationRecord is the revocation record: ids, times, outcomes and the
// manual step, never a value.
type RevocationRecord struct {
	Schema             string              `json:"schema"`
	KeyleaseVersion    string              `json:"keylease_version"`
	Run                record.Run          `json:"run"`
	Session            *record.Session     `json:"aws_session,omitempty"`
	Type               string              `json:"type"`
	Vendor             string              `json:"vendor"`
	Environment        string              `json:"environment"`
	Ref                string              `json:"ref"`
	Selector           string              `json:"version_selector"`
	VersionID          string              `json:"version_id,omitempty"`
	KeyID              string              `json:"key_id,omitempty"`
	Reason             string              `json:"reason"`
	VendorResult       string              `json:"vendor_result"`
	Manual             *ManualStep         `json:"manual_step,omitempty"`
	Validity           string              `json:"validity,omitempty"`
	TombstoneVersionID string              `json:"tombstone_version_id,omitempty"`
	RevokedAt          time.Time           `json:"revoked_at,omitzero"`
	PullRequest        string              `json:"pull_request,omitempty"`
	Resumed            bool                `json:"resumed,omitempty"`
	AlreadyRevoked     bool                `json:"already_revoked,omitempty"`
	DryRun             bool                `json:"dry_run,omitempty"`
	Steps              []Step              `json:"steps"`
	Outcome            string              `json:"outcome"`
	ExitCode           int                 `json:"exit_code"`
	Verification       record.Verification `json:"verification"`
}

// Revoker holds a revocation's clients. Disabler reports a manual step
// where the vendor key cannot be disabled by API; PR is nil unless the
// registry update is a pull request.
type Revoker struct {
	Store     Store
	Validator vendorapi.Validator
	Disabler  KeyDisabler
	PR        Proposer
	Mask      Masker
	Out       io.Writer
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
	// VerifyFor bounds the wait for the vendor to say invalid (0: DefaultVerifyFor).
	VerifyFor time.Duration
	// Crash, if set, is called after each step; an error ends the run there
	// as a crash would. Tests inject crashes here.
	Crash func(step string) error
	// OnKey, if set, sees the revoked key once it is read (the incident
	// computes its fingerprint in memory); it must not keep the value.
	OnKey func(key secret.Value)
}

// RevokeTarget is one revocation's inputs.
type RevokeTarget struct {
	Entry          *registry.Entry
	Version        string // VersionCurrent, VersionPrevious or a version id
	Reason         string
	RegistryPath   string
	RegistryUpdate string
	Repo           githubapi.Repo
	RepoPath       string
	ConfirmManual  bool
	DryRun         bool
	// VendorOnly disables and verifies only: the incident rotates a
	// replacement and then takes the revoked version's labels itself.
	VendorOnly bool
}

type revocation struct {
	journal
	r   *Revoker
	t   RevokeTarget
	e   *registry.Entry
	rec *RevocationRecord
	id  string
	rg  string
	s   revState
	// read is the audit's own-reads tag with this run's read of the
	// revoked version ("" before it).
	read string
}

// Revoke runs (or resumes) the revocation of t's version and returns its
// record, also together with an error. Under DryRun it only reads.
func (r *Revoker) Revoke(ctx context.Context, t RevokeTarget) (*RevocationRecord, error) {
	e := t.Entry
	if e == nil || e.Ref.SecretID == "" {
		return nil, fail(lease.ExitConfig, errors.New("the entry has no Secrets Manager secret_ref to revoke"))
	}
	if !keyform.ValidReason(t.Reason) {
		return nil, fail(lease.ExitConfig, fmt.Errorf("--reason %q: use a short label of lower-case letters, digits, '.', '_' or '-' (at most 64), such as suspected-leak", t.Reason))
	}
	if t.Version == "" {
		t.Version = VersionCurrent
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Sleep == nil {
		r.Sleep = transport.Sleep
	}
	if r.Out == nil {
		r.Out = io.Discard
	}
	if r.VerifyFor <= 0 {
		r.VerifyFor = DefaultVerifyFor
	}
	x := &revocation{r: r, t: t, e: e, id: e.Ref.SecretID, rg: e.Ref.Region,
		rec: &RevocationRecord{Schema: RevocationSchema, Type: "revocation", Vendor: e.Vendor, Environment: e.Env, Ref: e.Ref.Raw,
			Selector: t.Version, Reason: t.Reason, VendorResult: OutcomePending, DryRun: t.DryRun}}
	x.journal = journal{prefix: "keylease revoke " + e.Vendor + "." + e.Env, out: r.Out, mask: r.Mask, now: r.Now, steps: &x.rec.Steps, crashAt: r.Crash}
	err := x.revoke(ctx)
	if err != nil {
		err = fail(codeOf(err), r.Mask.SanitizeError(err))
	}
	return x.rec, err
}

func (x *revocation) tag(ctx context.Context) error {
	tags := map[string]string{RevokeTag: x.s.String()}
	if x.read != "" {
		tags[auditReadTag] = x.read
	}
	return x.r.Store.Tag(ctx, x.id, x.rg, tags)
}

// tagAfter writes the revocation tag after step; a failure is that step's
// failure in the record (which would otherwise end on the step done).
func (x *revocation) tagAfter(ctx context.Context, step string) error {
	if err := x.tag(ctx); err != nil {
		err = fmt.Errorf("write the revocation tag %s after the %s step: %w; rerun keylease revoke, it resumes", RevokeTag, step, err)
		x.step(step, OutcomeFailed, err.Error())
		return err
	}
	return nil
}

// readRevoked reads the version being revoked and notes the read (the day
// and the version) in the audit's own-reads tag, written with the next
// revocation tag: Secrets Manager keeps only the day of a read, and this
// one, on the revocation day, is not a read after the revocation.
func (x *revocation) readRevoked(ctx context.Context, vid string, tags map[string]string) (keyform.Stored, error) {
	st, err := readVersion(ctx, x.r.Store, x.r.Mask, x.id, x.rg, vid)
	if err == nil && !x.t.DryRun {
		x.read = parseAuditRead(tags[auditReadTag]).with(x.r.Now(), []string{vid}).String()
	}
	return st, err
}

// resolve picks the version to revoke by its label or id, never by a
// guess: after AWSCURRENT moved to the tombstone, the revocation tag names it.
func (x *revocation) resolve(st map[string][]string, prev revState, hasPrev bool) (string, error) {
	labelled := func(v, stage string) bool { return slices.Contains(st[v], stage) }
	switch x.t.Version {
	case VersionCurrent:
		cur := ""
		for v := range st {
			if labelled(v, stageCurrent) {
				cur = v
			}
		}
		if hasPrev && cur != "" && cur == requestToken(prev.ID) {
			return prev.Version, nil
		}
		if cur == "" {
			return "", fail(lease.ExitLease, errors.New("the secret has no AWSCURRENT version; name the version with --version VERSION_ID"))
		}
		if hasPrev && prev.Version != cur && !prev.complete() {
			// AWSCURRENT moved (a rotation) since a revocation started: a
			// rerun meant to finish that one must not revoke the new key.
			return "", fail(lease.ExitConfig, fmt.Errorf("the revocation of version %s (started %s) is unfinished and AWSCURRENT is now version %s: finish it with --version %s, or revoke the current key with --version %s",
				prev.Version, prev.At.Format(time.RFC3339), cur, prev.Version, cur))
		}
		return cur, nil
	case VersionPrevious:
		for v := range st {
			if labelled(v, stagePrevious) {
				return v, nil
			}
		}
		if hasPrev && len(st[prev.Version]) == 0 {
			return prev.Version, nil
		}
		return "", fail(lease.ExitConfig, errors.New("the secret has no AWSPREVIOUS version; name the version with --version VERSION_ID"))
	}
	if _, ok := st[x.t.Version]; ok || (hasPrev && prev.Version == x.t.Version) {
		return x.t.Version, nil
	}
	return "", fail(lease.ExitConfig, fmt.Errorf("--version %s: the secret has no such version with a staging label; use current, previous or a version id from aws secretsmanager list-secret-version-ids", x.t.Version))
}

func (x *revocation) revoke(ctx context.Context) error {
	desc, err := x.r.Store.Describe(ctx, x.id, x.rg)
	if err != nil {
		x.step(StepDisable, OutcomeFailed, err.Error())
		return err
	}
	prev, hasPrev := revStateOf(desc.Tags, x.e.Vendor, x.e.Env)
	vid, err := x.resolve(desc.Stages, prev, hasPrev)
	if err != nil {
		return err
	}
	x.rec.VersionID = vid
	if hasPrev && prev.Version == vid && prev.Local == progDone && len(desc.Stages[vid]) > 0 {
		// The tag says the local step is done, yet the version still has a
		// label: the tag is not what this revocation left (hand-edited, or
		// the version was labelled again). Every step is redone; the time
		// is kept so the tombstone put is the same version.
		x.say("the revocation tag says version %s keeps no label, but it has %v; redoing every step", vid, desc.Stages[vid])
		prev.Vendor, prev.Verify, prev.Local, prev.Registry = progPending, progPending, progPending, progPending
	}
	if hasPrev && prev.Version == vid {
		x.s = prev
		x.rec.Resumed = true
		if prev.complete() {
			x.rec.AlreadyRevoked, x.rec.RevokedAt, x.rec.VendorResult, x.rec.Validity = true, prev.At, prev.Vendor, prev.Verify
			if prev.Local == progDone && prev.Registry == progDone {
				x.rec.TombstoneVersionID = requestToken(prev.ID)
			}
			if x.r.OnKey != nil {
				// The incident still scans for the value: read it if the
				// version is still there (a deprecated version may be gone).
				if st, err := x.readRevoked(ctx, vid, desc.Tags); err == nil {
					x.r.OnKey(st.Key)
					st.Key.Wipe()
					if err := x.tag(ctx); err != nil {
						return err
					}
				}
			}
			x.step(StepDisable, OutcomeSkipped, "already revoked at "+prev.At.Format(time.RFC3339)+" (version "+vid+")")
			x.say("version %s already revoked at %s; nothing to do", vid, prev.At.Format(time.RFC3339))
			return nil
		}
		x.say("resuming the revocation of version %s", vid)
	} else {
		at := x.r.Now().UTC().Truncate(time.Second)
		x.s = revState{ID: revocationID(x.e.Vendor, x.e.Env, vid), Version: vid, At: at,
			Vendor: progPending, Verify: progPending, Local: progPending, Registry: progPending}
	}
	if x.t.VendorOnly {
		x.s.Local, x.s.Registry = progSkipped, progSkipped
	}
	x.rec.RevokedAt = x.s.At
	tomb := requestToken(x.s.ID)
	current := slices.Contains(desc.Stages[vid], stageCurrent) || slices.Contains(desc.Stages[tomb], stageCurrent)

	st, err := x.readRevoked(ctx, vid, desc.Tags)
	if err != nil {
		var re *keyform.RevokedError
		if errors.As(err, &re) {
			return fail(lease.ExitConfig, fmt.Errorf("version %s is itself a revocation tombstone; name the revoked key's version with --version VERSION_ID", vid))
		}
		x.step(StepDisable, OutcomeFailed, err.Error())
		return err
	}
	defer st.Key.Wipe()
	x.rec.KeyID = st.KeyID
	if x.r.OnKey != nil {
		x.r.OnKey(st.Key)
	}
	if x.t.DryRun {
		return x.plan(vid, st, current)
	}

	// 1. disable at the vendor
	var vendorErr error
	if x.s.Vendor != progDone && x.s.Vendor != progManual {
		done, manual, err := x.r.Disabler.DisableKey(ctx, st)
		switch {
		case err != nil:
			x.s.Vendor, vendorErr = progFailed, err
			x.step(StepDisable, OutcomeFailed, err.Error())
		case manual != nil:
			x.rec.Manual = manual
			if !x.t.ConfirmManual {
				x.rec.VendorResult = OutcomeManual
				x.step(StepDisable, OutcomeManual, "not disabled: "+manual.String()+"; nothing was changed")
				x.say("manual step: %s", manual)
				return fail(lease.ExitLease, fmt.Errorf("the key cannot be disabled by API: %s; do that, then rerun with --confirm-manual (nothing was changed)", manual))
			}
			x.s.Vendor = progManual
			x.step(StepDisable, OutcomeManual, "confirmed done by hand (--confirm-manual): "+manual.String())
		default:
			x.s.Vendor = progDone
			x.step(StepDisable, OutcomeDone, done)
		}
	} else {
		x.step(StepDisable, OutcomeSkipped, "already "+x.s.Vendor)
	}
	x.rec.VendorResult = x.s.Vendor
	// From here the tag holds the revocation's time and progress, so a
	// rerun keeps both (and a later run knows the vendor step's outcome).
	if err := x.tagAfter(ctx, StepDisable); err != nil {
		return errors.Join(err, vendorErr)
	}
	if err := x.crash(StepDisable); err != nil {
		return err
	}

	// 2. verify (the key must now be refused; vendors take a moment)
	if vendorErr == nil && x.s.Verify != vendorapi.Invalid.String() {
		v, verr := x.verify(ctx, st.Key)
		x.s.Verify = v.String()
		if v == vendorapi.Invalid {
			x.step(StepVerify, OutcomeDone, "the vendor says invalid")
		} else {
			detail := fmt.Sprintf("the vendor still says %s after %s", v, x.r.VerifyFor)
			if verr != nil {
				detail += ": " + verr.Error()
			}
			x.step(StepVerify, OutcomeFailed, detail)
		}
	} else if vendorErr != nil {
		x.step(StepVerify, OutcomeSkipped, "the vendor step failed")
	} else {
		x.step(StepVerify, OutcomeSkipped, "already verified invalid")
	}
	x.rec.Validity = x.s.Verify
	if err := x.tagAfter(ctx, StepVerify); err != nil {
		return errors.Join(err, vendorErr)
	}
	if err := x.crash(StepVerify); err != nil {
		return err
	}

	// 3. invalidate the local ref, 4. the registry: done even when the
	// vendor failed, so no lease hands out a key known to be compromised.
	if !x.t.VendorOnly {
		if err := x.invalidate(ctx, vid, current); err != nil {
			x.step(StepInvalidate, OutcomeFailed, err.Error())
			return errors.Join(err, vendorErr)
		}
		if err := x.crash(StepInvalidate); err != nil {
			return err
		}
		if err := x.registry(ctx, current); err != nil {
			x.step(StepRegistry, OutcomeFailed, err.Error())
			return errors.Join(err, vendorErr)
		}
		if err := x.crash(StepRegistry); err != nil {
			return err
		}
	}
	switch {
	case vendorErr != nil:
		return fail(lease.ExitLease, fmt.Errorf("disable the key at the vendor: %w; the local steps are done, rerun keylease revoke to retry the vendor", vendorErr))
	case x.s.Verify != vendorapi.Invalid.String():
		return fail(lease.ExitLease, fmt.Errorf("the vendor still says %s for the revoked key after %s; the local steps are done, check the vendor console and rerun keylease revoke", x.s.Verify, x.r.VerifyFor))
	}
	return nil
}

// verify polls the validity check until it says Invalid or VerifyFor has
// passed.
func (x *revocation) verify(ctx context.Context, key secret.Value) (vendorapi.Verdict, error) {
	deadline := x.r.Now().Add(x.r.VerifyFor)
	for {
		v, err := x.r.Validator.Check(ctx, key)
		if v == vendorapi.Invalid {
			return v, nil
		}
		if !x.r.Now().Before(deadline) {
			return v, err
		}
		wait := min(verifyEvery, deadline.Sub(x.r.Now()))
		if serr := x.r.Sleep(ctx, wait); serr != nil {
			return v, errors.Join(err, serr)
		}
	}
}

// invalidate makes a tombstone AWSCURRENT when the revoked version is
// current, and takes every label off the revoked version. Each call checks
// the labels first, so a rerun after a crash completes it.
func (x *revocation) invalidate(ctx context.Context, vid string, current bool) error {
	if x.s.Local == progDone {
		if current {
			x.rec.TombstoneVersionID = requestToken(x.s.ID)
		}
		x.step(StepInvalidate, OutcomeSkipped, "already done")
		return nil
	}
	if err := x.tag(ctx); err != nil {
		return err
	}
	if err := x.crash(StepInvalidateTagged); err != nil {
		return err
	}
	tomb := requestToken(x.s.ID)
	desc, err := x.r.Store.Describe(ctx, x.id, x.rg)
	if err != nil {
		return err
	}
	if err := x.keepRotation(ctx, desc); err != nil {
		return err
	}
	detail := "version " + vid + " keeps no staging label"
	if current {
		// The tombstone keeps AWSCURRENT alone: its own put label goes (and
		// AWSPENDING, where an earlier keylease staged it there).
		extra := slices.DeleteFunc(slices.Clone(desc.Stages[tomb]), func(s string) bool { return s != stageTombstone && s != stagePending })
		if !slices.Contains(desc.Stages[tomb], stageCurrent) {
			b, err := keyform.EncodeTombstone(x.s.At, x.t.Reason)
			if err != nil {
				return fail(lease.ExitConfig, err)
			}
			// The token is the revocation id and the tombstone's time comes
			// from the tag: a rerun puts the same version, a no-op. Its
			// own label, not AWSPENDING: a rotation's AWSPENDING stays
			// where it is (its minted key accounted for, the rotation
			// resumable).
			_, listed := desc.Stages[tomb]
			if !listed {
				_, err = x.r.Store.Put(ctx, x.id, x.rg, tomb, stageTombstone, secret.New(b))
				listed = resourceExists(err) // put before, with another --reason
				if err != nil && !listed {
					return err
				}
			}
			if listed {
				// Put by an earlier run: moved to as it is, once it is seen
				// to be a tombstone (its id is public, its value is not).
				if err := x.isTombstone(ctx, tomb); err != nil {
					return err
				}
			}
			if err := x.r.Store.MoveStage(ctx, x.id, x.rg, stageCurrent, tomb, vid); err != nil {
				return err
			}
			if !slices.Contains(extra, stageTombstone) {
				extra = append(extra, stageTombstone)
			}
		}
		for _, stage := range extra {
			if err := x.r.Store.MoveStage(ctx, x.id, x.rg, stage, "", tomb); err != nil && !notAttached(err) {
				return err
			}
		}
		x.rec.TombstoneVersionID = tomb
		detail = "AWSCURRENT is the tombstone version " + tomb + "; " + detail
	}
	if err := x.unlabel(ctx, vid); err != nil {
		return err
	}
	x.s.Local = progDone
	if err := x.tag(ctx); err != nil {
		return err
	}
	x.step(StepInvalidate, OutcomeDone, detail)
	return nil
}

// keepRotation writes the rotation tag of a mint promotion killed before
// its tag (stateOf) before any label moves: until then only AWSPREVIOUS
// ties that rotation to its old key, and moving AWSCURRENT takes it off, so
// the old key would stay live at the vendor with nothing that names it.
func (x *revocation) keepRotation(ctx context.Context, desc exchange.SecretState) error {
	rs, ok := stateOf(desc, x.e.Vendor, x.e.Env, x.r.Now())
	if tagged, tok := parseState(desc.Tags[StateTag]); !ok || (tok && tagged.New == rs.New) {
		return nil
	}
	if err := x.r.Store.Tag(ctx, x.id, x.rg, map[string]string{StateTag: rs.String()}); err != nil {
		return fmt.Errorf("record the unfinished rotation (tag %s) before moving labels: %w", StateTag, err)
	}
	x.say("a rotation promoted version %s and was stopped before its tag; recorded it, so its old key (version %s) is retired by the next rotate or audit", rs.New, rs.Old)
	return nil
}

// isTombstone checks that version vid, which an earlier run put, is a
// tombstone before it is made AWSCURRENT.
func (x *revocation) isTombstone(ctx context.Context, vid string) error {
	st, err := readVersion(ctx, x.r.Store, x.r.Mask, x.id, x.rg, vid)
	if errors.Is(err, keyform.ErrRevoked) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the tombstone version %s an earlier run put: %w", vid, err)
	}
	st.Key.Wipe()
	return fail(lease.ExitLease, fmt.Errorf("version %s has the revocation's tombstone id but is not a tombstone; it was not put by keylease revoke: check who put it (CloudTrail PutSecretValue), then make AWSCURRENT a tombstone by hand", vid))
}

// resourceExists: a put whose ClientRequestToken is already a version with
// another value.
func resourceExists(err error) bool {
	var ee *exchange.Error
	return errors.As(err, &ee) && ee.Code == "ResourceExistsException"
}

// unlabel removes every staging label from version vid (AWSCURRENT must
// already have moved away from it).
func (x *revocation) unlabel(ctx context.Context, vid string) error {
	return unlabel(ctx, x.r.Store, x.id, x.rg, vid)
}

func unlabel(ctx context.Context, s Store, id, rg, vid string) error {
	desc, err := s.Describe(ctx, id, rg)
	if err != nil {
		return err
	}
	for _, stage := range desc.Stages[vid] {
		if stage == stageCurrent {
			return fail(lease.ExitLease, fmt.Errorf("version %s is still AWSCURRENT; it keeps its label until a replacement or a tombstone is current", vid))
		}
		if err := s.MoveStage(ctx, id, rg, stage, "", vid); err != nil && !notAttached(err) {
			return err
		}
	}
	return nil
}

func (x *revocation) registry(ctx context.Context, current bool) error {
	if x.s.Registry != progPending {
		x.step(StepRegistry, OutcomeSkipped, "already "+x.s.Registry)
		return nil
	}
	if !current {
		x.s.Registry = progSkipped
		x.step(StepRegistry, OutcomeSkipped, "the revoked version is not AWSCURRENT: the entry's current key stays live")
		return x.tag(ctx)
	}
	day := x.s.At.Format(time.DateOnly)
	ed := registryEdit{Path: x.t.RegistryPath, Vendor: x.e.Vendor, Env: x.e.Env, Mode: x.t.RegistryUpdate,
		Set: map[string]any{"revoked": true, "revoked_at": day}, Shown: "revoked: true, revoked_at: " + day,
		Repo: x.t.Repo, RepoPath: x.t.RepoPath, Branch: "keylease/revoke-" + x.e.Vendor + "-" + x.e.Env,
		Message: "keylease: " + x.e.Vendor + "." + x.e.Env + " revoked " + day,
		Title:   "keylease: revoke " + x.e.Vendor + "." + x.e.Env + " (" + x.t.Reason + ", " + day + ")",
		Body: fmt.Sprintf("keylease revoke revoked %s.%s on %s (reason %s): version %s, vendor key %s; AWSCURRENT is a tombstone.\n\nThis PR only records `revoked` and `revoked_at`; it contains no secret.",
			x.e.Vendor, x.e.Env, day, x.t.Reason, x.rec.VersionID, orUnknown(x.rec.KeyID))}
	detail, url, err := applyRegistry(ctx, ed, x.r.PR, x.r.Mask)
	if err != nil {
		return err
	}
	x.rec.PullRequest = url
	x.s.Registry = progDone
	outcome := OutcomeDone
	if ed.Mode == UpdateNone || ed.Mode == "" {
		outcome = OutcomeSkipped
	}
	x.step(StepRegistry, outcome, detail)
	return x.tag(ctx)
}

// plan prints what the revocation would do; it has only read.
func (x *revocation) plan(vid string, st keyform.Stored, current bool) error {
	x.say("plan: disable: %s", x.planDisable(st))
	x.say("plan: verify: the vendor's validity check must say invalid (waiting up to %s)", x.r.VerifyFor)
	if x.t.VendorOnly {
		x.say("plan: the incident rotates a replacement, then version %s keeps no staging label", vid)
	} else if current {
		x.say("plan: invalidate: AWSCURRENT moves from version %s to a tombstone (%s); version %s keeps no label", vid, x.t.Reason, vid)
		x.say("plan: registry: revoked: true, revoked_at: %s (%s)", x.s.At.Format(time.DateOnly), orNone(x.t.RegistryUpdate))
	} else {
		x.say("plan: invalidate: version %s keeps no label; AWSCURRENT and the registry stay", vid)
	}
	x.say("plan: record: %s", RevocationSchema)
	x.step(StepDisable, OutcomeSkipped, "dry run: nothing changed")
	return nil
}

func (x *revocation) planDisable(st keyform.Stored) string {
	admin, project := adminOf(x.e)
	manual := "by hand at the vendor's console (no admin entry or no key id); needs --confirm-manual"
	if admin == "" {
		return manual
	}
	switch x.e.Vendor {
	case "openai":
		if sa := st.IDs[retireIDField]; sa != "" && project != "" {
			return "delete OpenAI service account " + sa + " in project " + project
		}
		if st.KeyID != "" && project != "" {
			return "delete OpenAI key " + st.KeyID + " in project " + project + " (its service account, for a service-account key)"
		}
	case "anthropic":
		if st.KeyID != "" {
			return "set Anthropic key " + st.KeyID + " inactive"
		}
	case "xai":
		if st.KeyID != "" {
			return "delete xAI key " + st.KeyID
		}
		return "delete the xAI key whose id GET /v1/api-key names"
	}
	return manual
}
