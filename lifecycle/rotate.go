package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
	"github.com/keylease/keylease/vendorapi"
)

// Staging labels.
const (
	stageCurrent  = "AWSCURRENT"
	stagePending  = "AWSPENDING"
	stagePrevious = "AWSPREVIOUS"
)

// Step names, in order; Crash hooks and the record use them.
const (
	StepCreate  = "create"
	StepTest    = "test"
	StepPromote = "promote"
	// StepPromoteTagged is the crash point between writing the state tag and
	// moving AWSCURRENT (a Crash hook name only, not a record step).
	StepPromoteTagged = "promote-tagged"
	StepRetire        = "retire"
	StepRegistry      = "registry"
	StepRecord        = "record"
)

// Registry update modes (--registry-update).
const (
	UpdatePR    = "pr"
	UpdateWrite = "write"
	UpdateNone  = "none"
)

// errMintedKeyLeft marks a mint whose key could not be deleted after its
// put failed: the run stops there.
var errMintedKeyLeft = errors.New("left live at the vendor")

// maxTakenIDs bounds the attempts one run tries when an attempt's version
// id is already taken.
const maxTakenIDs = 3

// MaxWait is the longest retire-after that Rotate waits out itself; a longer
// one is left to the next rotate or audit.
const MaxWait = 15 * time.Minute

// retireIDField is the JSON-form field holding what the vendor's Disable
// takes when it differs from key_id (an OpenAI service account).
const retireIDField = "retire_id"

// Store is what Rotate needs of Secrets Manager (exchange.RotationStore).
type Store interface {
	Describe(ctx context.Context, id, region string) (exchange.SecretState, error)
	Get(ctx context.Context, id, region, versionID string) (secret.Value, error)
	Put(ctx context.Context, id, region, token, stage string, v secret.Value) (string, error)
	MoveStage(ctx context.Context, id, region, stage, to, from string) error
	Tag(ctx context.Context, id, region string, tags map[string]string) error
}

// Admin is the vendor admin client of a mint rotation.
type Admin interface {
	vendorapi.Minter
	vendorapi.Disabler
	vendorapi.Lister
}

// Proposer opens or updates the registry pull request (githubapi.Client).
type Proposer interface {
	ProposeFile(ctx context.Context, r githubapi.Repo, change githubapi.FileChange) (*github.PullRequest, error)
}

// Masker is the lease's masking: every value is registered before it may be
// printed, every text and the record pass it.
type Masker interface {
	Register(v secret.Value) error
	Sanitize(s string) string
	SanitizeError(err error) error
	Scan(b []byte) int
	DetectorNames() []string
}

// Rotator holds a rotation's clients. Retirer may be nil (the old key is
// then retired by hand, and the record says so); Admin is nil for staged;
// PR is nil unless the registry update is a pull request.
type Rotator struct {
	Store     Store
	Validator vendorapi.Validator
	Admin     Admin
	Retirer   vendorapi.Disabler
	PR        Proposer
	Mask      Masker
	Out       io.Writer // plan and progress lines, value-free
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
	// Crash, if set, is called after each step; an error ends the run there
	// as a crash would (no cleanup, no record). Tests inject crashes here.
	Crash func(step string) error
}

// Target is one rotation's inputs.
type Target struct {
	Entry          *registry.Entry
	RegistryPath   string
	RegistryUpdate string        // UpdatePR, UpdateWrite or UpdateNone
	RetireAfter    time.Duration // since promotion
	Repo           githubapi.Repo
	RepoPath       string // the registry's path in Repo (pr)
	DryRun, Force  bool
}

// Error is a failed rotation with its exit code (2 config, 3 a step failed,
// 4 leak); the record says which step. Its text never holds a value.
type Error = lease.Error

func fail(code int, err error) error { return &lease.Error{Code: code, Err: err} }

// ErrCrash is what an injected crash returns (tests only).
var ErrCrash = errors.New("injected crash")

type run struct {
	journal
	r   *Rotator
	t   Target
	e   *registry.Entry
	rec *Record
	id  string // secret id
	rg  string // region

	lastTag string // the StateTag value as last written by retire
	// labels is version id → staging labels as read before this run
	// changed any (retirable).
	labels map[string][]string
}

// Rotate runs (or resumes) the rotation of t.Entry and returns its record,
// also together with an error. Nothing that changes state is called under
// DryRun.
func (r *Rotator) Rotate(ctx context.Context, t Target) (*Record, error) {
	e := t.Entry
	if e == nil || e.Rotation == nil {
		return nil, fail(lease.ExitConfig, errors.New("the entry has no rotation block; add rotation: {method: mint|staged, admin: ENV} to the registry entry"))
	}
	if e.Ref.SecretID == "" {
		return nil, fail(lease.ExitConfig, fmt.Errorf("%s.%s has no Secrets Manager secret_ref to rotate", e.Vendor, e.Env))
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
	x := &run{r: r, t: t, e: e, id: e.Ref.SecretID, rg: e.Ref.Region,
		rec: &Record{Schema: RecordSchema, Vendor: e.Vendor, Environment: e.Env, Ref: e.Ref.Raw, Method: e.Rotation.Method, DryRun: t.DryRun}}
	x.journal = journal{prefix: "keylease rotate " + e.Vendor + "." + e.Env, out: r.Out, mask: r.Mask, now: r.Now, steps: &x.rec.Steps, crashAt: r.Crash}
	err := x.rotate(ctx)
	if err != nil {
		err = fail(codeOf(err), r.Mask.SanitizeError(err))
	}
	return x.rec, err
}

func codeOf(err error) int {
	var le *lease.Error
	if errors.As(err, &le) {
		return le.Code
	}
	return lease.ExitLease
}

func (x *run) tag(ctx context.Context, s state) error {
	return x.r.Store.Tag(ctx, x.id, x.rg, map[string]string{StateTag: s.String()})
}

func (x *run) rotate(ctx context.Context) error {
	st, err := x.r.Store.Describe(ctx, x.id, x.rg)
	if err != nil {
		x.step(StepCreate, OutcomeFailed, err.Error())
		return err
	}
	x.labels = st.Stages
	cur := st.VersionWith(stageCurrent)
	if cur == "" {
		return fail(lease.ExitLease, errors.New("the secret has no AWSCURRENT version; put the first value with aws secretsmanager put-secret-value before rotating"))
	}
	pend := st.VersionWith(stagePending)
	pendOnCur := pend != "" && pend == cur // a promotion whose AWSPENDING is not yet removed
	if pendOnCur {
		pend = ""
	}
	prev, hasPrev := stateOf(st, x.e.Vendor, x.e.Env, x.r.Now())

	// A finished rotation's old key whose retire-after has passed is retired
	// first: "retire pending" is performed by the next run. (A rotation
	// promoted but not finished retires in finish.)
	// Never retire prev.Old while it is still AWSCURRENT: a crash between
	// the tag and the move leaves exactly that state.
	unfinished := hasPrev && prev.New == cur && prev.Registry != regDone
	inFlight := hasPrev && pend != "" && prev.New == pend
	if hasPrev && prev.Retire == retirePending && !unfinished && !inFlight && prev.Old != cur && !x.t.DryRun {
		if err := x.retire(ctx, prev, false, true); err != nil {
			return err
		}
		prev, _ = parseState(x.lastTag)
	}
	// Promotion done (the tag names the current version): finish what is
	// left, or stop if nothing is.
	if hasPrev && prev.New == cur && pend == "" {
		x.rec.RotationID, x.rec.NewVersionID, x.rec.OldVersionID = prev.RotationID, prev.New, prev.Old
		x.rec.PromotedAt = prev.At
		if prev.Registry == regDone && !x.t.Force {
			x.rec.Resumed = true
			if pendOnCur && !x.t.DryRun {
				// A crash after the last tag, before AWSPENDING was removed.
				if err := x.removePending(ctx, cur); err != nil {
					return err
				}
			}
			x.step(StepPromote, OutcomeSkipped, "already rotated: AWSCURRENT is the version keylease promoted at "+prev.At.Format(time.RFC3339)+"; pass --force to rotate again")
			x.say("already rotated at %s; nothing to do (--force rotates again)", prev.At.Format(time.RFC3339))
			x.rec.AlreadyRotated = true
			return nil
		}
		if prev.Registry != regDone {
			x.rec.Resumed = true
			x.say("resuming after promotion (rotation %s)", prev.RotationID)
			if x.t.DryRun {
				x.say("plan: finish the promotion of version %s: retire, registry, record", cur)
				x.step(StepCreate, OutcomeSkipped, "dry run: nothing changed")
				return nil
			}
			if err := x.finish(ctx, prev, pendOnCur); err != nil || !x.t.Force {
				return err
			}
			// --force replaces the current version: the finished rotation's
			// was only brought to an end; now the rotation asked for.
			x.say("rotation %s finished; --force: rotating again", prev.RotationID)
			return x.rotate(ctx)
		}
	}

	if hasPrev && prev.Retire == retirePending && !inFlight && prev.Old != cur && !x.t.DryRun {
		// Starting another rotation now would drop the label of a key that
		// is still live at the vendor: it must be retired first. (A tag
		// whose old version is still AWSCURRENT is a promotion that never
		// happened, its AWSPENDING since replaced or removed: nothing to
		// retire, and this run starts afresh.)
		return fail(lease.ExitLease, fmt.Errorf("the previous rotation's old key (version %s) is retire pending until %s, the time the rotation that promoted it set (a shorter --retire-after now does not bring it forward); rerun after that",
			prev.Old, prev.retireAt(x.t.RetireAfter).UTC().Format(time.RFC3339)))
	}
	attempt := attemptOf(st.Tags, cur)
	id := rotationID(x.e.Vendor, x.e.Env, cur, attempt)
	x.rec.RotationID, x.rec.OldVersionID = id, cur
	if x.t.DryRun {
		return x.plan(cur, pend)
	}

	// 1. create
	var pendKey keyform.Stored
	if pend != "" {
		x.rec.Resumed = true
		pendKey, err = x.read(ctx, pend)
		if err != nil {
			x.step(StepCreate, OutcomeFailed, err.Error())
			return err
		}
		x.step(StepCreate, OutcomeResumed, "AWSPENDING version "+pend+" resumed")
	} else {
		if x.e.Rotation.Method == registry.MethodStaged {
			x.step(StepCreate, OutcomeFailed, "no AWSPENDING value")
			return fail(lease.ExitLease, fmt.Errorf("staged rotation: no AWSPENDING value yet; create the new key at the vendor, then run:\n  %s\nand rerun keylease rotate", stagedCommand(x.e)))
		}
		pend, pendKey, err = x.mint(ctx, id)
		for try := 1; resourceExists(err) && !errors.Is(err, errMintedKeyLeft) && try < maxTakenIDs; try++ {
			// This attempt's version id is an earlier version that lost
			// its AWSPENDING without a test (keylease revoke --version, or
			// by hand); Secrets Manager never gives that id to another
			// value. It counts as a rejected attempt (the minted key is
			// already deleted); the next attempt's id is fresh.
			attempt++
			if terr := x.r.Store.Tag(ctx, x.id, x.rg, map[string]string{AttemptTag: cur + " " + strconv.Itoa(attempt)}); terr != nil {
				err = fmt.Errorf("count the attempt whose version id is taken (tag %s): %w; rerun", AttemptTag, terr)
				break
			}
			x.say("version id %s is an earlier version's (its AWSPENDING was removed); minting as attempt %d", requestToken(id), attempt)
			id = rotationID(x.e.Vendor, x.e.Env, cur, attempt)
			x.rec.RotationID = id
			pend, pendKey, err = x.mint(ctx, id)
		}
		if err != nil {
			x.step(StepCreate, OutcomeFailed, err.Error())
			return err
		}
		x.step(StepCreate, OutcomeDone, "minted "+pendKey.KeyID+" and put it as AWSPENDING version "+pend)
	}
	defer pendKey.Key.Wipe()
	x.rec.NewVersionID, x.rec.NewKeyID = pend, pendKey.KeyID
	if err := x.crash(StepCreate); err != nil {
		return err
	}

	// 2. test (after the key is live everywhere, where the vendor says so)
	if err := x.awaitPropagation(ctx, pendKey); err != nil {
		x.step(StepTest, OutcomeFailed, err.Error())
		return err
	}
	verdict, verr := x.r.Validator.Check(ctx, pendKey.Key)
	x.rec.Validity = verdict.String()
	if verdict != vendorapi.Valid {
		detail := "the vendor says " + verdict.String()
		if verr != nil {
			detail += ": " + verr.Error()
		}
		x.step(StepTest, OutcomeFailed, detail)
		kept, cerr := x.discard(ctx, cur, attempt, pend, pendKey)
		what := "AWSPENDING removed; rerun to try again"
		switch {
		case kept:
			what = "AWSPENDING is kept (its key could not be deleted at the vendor): the rerun tests it again, or deletes it"
		case x.e.Rotation.Method == registry.MethodStaged:
			what = "AWSPENDING removed; the rejected key " + orUnknown(pendKey.KeyID) + " is still at the vendor (keylease does not delete an operator's key): delete or fix it there, put a new AWSPENDING value and rerun"
		}
		return fail(lease.ExitLease, errors.Join(fmt.Errorf("the new key did not pass the vendor's validity check (%s); AWSCURRENT is untouched, %s", verdict, what), cerr))
	}
	x.step(StepTest, OutcomeDone, "valid at the vendor")
	if err := x.crash(StepTest); err != nil {
		return err
	}

	// 3. promote. A version keylease put (its id is this rotation's
	// ClientRequestToken) is recognised after a crash by its id alone; any
	// other (staged: the operator's) gets the state tag first, so a crash
	// between the two calls is seen as a promotion under way, not a fresh
	// start.
	now := x.r.Now().UTC().Truncate(time.Second)
	s := state{RotationID: id, New: pend, Old: cur, At: now, Due: now.Add(x.t.RetireAfter), Retire: retirePending, Registry: regPending}
	if pend != requestToken(id) {
		if err := x.tag(ctx, s); err != nil {
			x.step(StepPromote, OutcomeFailed, err.Error())
			return err
		}
		if err := x.crash(StepPromoteTagged); err != nil {
			return err
		}
	}
	if err := x.r.Store.MoveStage(ctx, x.id, x.rg, stageCurrent, pend, cur); err != nil {
		x.step(StepPromote, OutcomeFailed, err.Error())
		return err
	}
	x.rec.PromotedAt = now
	x.labels = nil // the old version is the one AWSCURRENT just left
	if err := x.crash(StepPromote); err != nil {
		return err
	}
	return x.finish(ctx, s, true)
}

// finish runs what follows promotion: retire, registry, the state tag, and
// last the removal of AWSPENDING from the new version (pendingOn), whose
// presence until then marks the rotation as unfinished; the record follows
// in Rotate's caller.
func (x *run) finish(ctx context.Context, s state, pendingOn bool) error {
	x.step(StepPromote, OutcomeDone, "AWSCURRENT is version "+s.New+", AWSPREVIOUS "+s.Old)
	if s.Due.IsZero() {
		// A promotion recognised by its id (stateOf): this run's
		// retire-after is the one the tag keeps.
		s.Due = s.At.Add(x.t.RetireAfter)
	}
	if s.Retire == retirePending {
		// The tag is written once, with the registry step: a crash before
		// it retires again on the rerun, and a key already deleted at the
		// vendor (404) counts as retired.
		if err := x.retire(ctx, s, true, false); err != nil {
			return err
		}
		s, _ = parseState(x.lastTag)
	} else {
		x.step(StepRetire, OutcomeSkipped, "old key already "+s.Retire)
	}
	if err := x.crash(StepRetire); err != nil {
		return err
	}
	if err := x.updateRegistry(ctx); err != nil {
		x.step(StepRegistry, OutcomeFailed, err.Error())
		return err
	}
	s.Registry = regDone
	if err := x.tag(ctx, s); err != nil {
		// The record would otherwise end on "registry done" under a
		// failed outcome.
		err = fmt.Errorf("write the state tag %s after the registry update: %w; rerun keylease rotate, it resumes from the promotion", StateTag, err)
		x.step(StepRegistry, OutcomeFailed, err.Error())
		return err
	}
	if err := x.crash(StepRegistry); err != nil {
		return err
	}
	if !pendingOn {
		return nil
	}
	return x.removePending(ctx, s.New)
}

// removePending takes AWSPENDING off version vid (already off: done).
func (x *run) removePending(ctx context.Context, vid string) error {
	if err := x.r.Store.MoveStage(ctx, x.id, x.rg, stagePending, "", vid); err != nil && !notAttached(err) {
		x.step(StepPromote, OutcomeFailed, "remove AWSPENDING from version "+vid+": "+err.Error())
		return err
	}
	return nil
}

// notAttached: AWSPENDING already removed (a rerun after the removal).
func notAttached(err error) bool {
	var ee *exchange.Error
	return errors.As(err, &ee) && ee.Code == "InvalidParameterException"
}

// read reads version vid, registers it and decodes the JSON form.
func (x *run) read(ctx context.Context, vid string) (keyform.Stored, error) {
	return readVersion(ctx, x.r.Store, x.r.Mask, x.id, x.rg, vid)
}

// readVersion reads version vid of secret id, registers the value and the
// key with m before anything may print them, and decodes the JSON form (a
// plain key comes back as Key, a tombstone as *keyform.RevokedError). The
// caller wipes Key.
func readVersion(ctx context.Context, s Store, m Masker, id, rg, vid string) (keyform.Stored, error) {
	v, err := s.Get(ctx, id, rg, vid)
	if err != nil {
		return keyform.Stored{}, err
	}
	defer v.Wipe()
	if err := m.Register(v); err != nil {
		return keyform.Stored{}, err
	}
	st, err := keyform.Decode(v)
	if err != nil {
		return keyform.Stored{}, err
	}
	if !st.JSON {
		st.Key = secret.New(v.Bytes())
	}
	if err := m.Register(st.Key); err != nil {
		st.Key.Wipe()
		return keyform.Stored{}, err
	}
	return st, nil
}

// mint creates the new key through the admin API, first deleting any key a
// crashed run minted under this rotation's name (its value was never stored
// and cannot be recovered), then puts it as AWSPENDING.
func (x *run) mint(ctx context.Context, id string) (string, keyform.Stored, error) {
	if x.r.Admin == nil {
		return "", keyform.Stored{}, fail(lease.ExitConfig, errors.New("mint rotation without an admin client; set rotation.admin to the vendor's role: admin entry"))
	}
	name := keyName(x.e.Vendor, x.e.Env, id)
	keys, err := x.r.Admin.List(ctx)
	if err != nil {
		return "", keyform.Stored{}, err
	}
	for _, k := range keys {
		if k.Name == name {
			if err := x.r.Admin.Disable(ctx, k.ID); err != nil {
				return "", keyform.Stored{}, err
			}
			x.rec.OrphansDeleted++
		}
	}
	m, err := x.r.Admin.Mint(ctx, name)
	if err != nil {
		return "", keyform.Stored{}, err
	}
	defer m.Key.Wipe()
	if err := x.r.Mask.Register(m.Key); err != nil {
		return "", keyform.Stored{}, errors.Join(err, x.r.Admin.Disable(ctx, m.ID))
	}
	ids := map[string]string{}
	if m.ID != "" && m.ID != m.KeyID {
		ids[retireIDField] = m.ID
	}
	form, err := keyform.Encode(m.Key, m.KeyID, ids)
	if err != nil {
		return "", keyform.Stored{}, errors.Join(err, x.r.Admin.Disable(ctx, m.ID))
	}
	defer form.Wipe()
	if err := x.r.Mask.Register(form); err != nil {
		return "", keyform.Stored{}, errors.Join(err, x.r.Admin.Disable(ctx, m.ID))
	}
	vid, err := x.r.Store.Put(ctx, x.id, x.rg, requestToken(id), stagePending, form)
	if err != nil {
		// The key exists at the vendor but not in the store: delete it, or
		// it would be a live key nobody accounts for.
		if derr := x.r.Admin.Disable(ctx, m.ID); derr != nil {
			return "", keyform.Stored{}, errors.Join(err, fmt.Errorf("delete the minted key %s (%w): %w; delete it at the vendor by hand", m.KeyID, errMintedKeyLeft, derr))
		}
		return "", keyform.Stored{}, err
	}
	return vid, keyform.Stored{Key: secret.New(m.Key.Bytes()), KeyID: m.KeyID, IDs: ids, JSON: true}, nil
}

// propagator is an admin client whose new keys go live gradually (xAI):
// testing one before it has propagated would reject a good key.
type propagator interface {
	Propagated(ctx context.Context, id string) (bool, error)
}

// Propagation polling: at most propagationPolls checks, propagationWait apart.
const (
	propagationPolls = 10
	propagationWait  = 2 * time.Second
)

func (x *run) awaitPropagation(ctx context.Context, k keyform.Stored) error {
	p, ok := x.r.Admin.(propagator)
	if !ok || k.KeyID == "" {
		return nil
	}
	for i := 0; ; i++ {
		live, err := p.Propagated(ctx, k.KeyID)
		if err != nil {
			return err
		}
		if live {
			return nil
		}
		if i+1 >= propagationPolls {
			return fail(lease.ExitLease, fmt.Errorf("the new key %s has not propagated at the vendor after %d checks; rerun later (AWSPENDING is kept and resumed)", k.KeyID, propagationPolls))
		}
		if err := x.r.Sleep(ctx, propagationWait); err != nil {
			return err
		}
	}
}

// discard undoes a create whose key failed the test: the next attempt is
// counted first (the rejected version keeps this attempt's id), then the
// minted key is deleted and AWSPENDING removed; AWSCURRENT is never
// touched. A crash in between leaves AWSPENDING, which the rerun resumes;
// so does a failed delete (kept), or the key would be live at the vendor
// with nothing left that names it.
func (x *run) discard(ctx context.Context, cur string, attempt int, pend string, k keyform.Stored) (kept bool, err error) {
	if err := x.r.Store.Tag(ctx, x.id, x.rg, map[string]string{AttemptTag: cur + " " + strconv.Itoa(attempt+1)}); err != nil {
		return true, fmt.Errorf("count the rejected attempt (tag %s): %w; AWSPENDING is kept and the rerun tests it again", AttemptTag, err)
	}
	if x.e.Rotation.Method == registry.MethodMint && x.r.Admin != nil {
		if rid := retireID(k); rid != "" {
			if err := x.r.Admin.Disable(ctx, rid); err != nil && !gone(err) {
				return true, fmt.Errorf("delete the rejected key %s: %w", k.KeyID, err)
			}
		}
	}
	if err := x.r.Store.MoveStage(ctx, x.id, x.rg, stagePending, "", pend); err != nil {
		return true, fmt.Errorf("remove AWSPENDING from the rejected version %s: %w; the rerun tests it again", pend, err)
	}
	return false, nil
}

func retireID(k keyform.Stored) string {
	if id := k.IDs[retireIDField]; id != "" {
		return id
	}
	return k.KeyID
}

// retire disables the old key once retire-after has passed since promotion
// (waiting when that is at most MaxWait away and wait is set), else leaves
// it pending in the tag. x.lastTag holds the new state; writeTag writes it.
func (x *run) retire(ctx context.Context, s state, wait, writeTag bool) error {
	due := s.retireAt(x.t.RetireAfter)
	x.lastTag = s.String()
	if left := due.Sub(x.r.Now()); left > 0 {
		if !wait || left > MaxWait {
			x.rec.RetirePendingUntil = due.UTC()
			x.step(StepRetire, OutcomePending, "retire pending until "+due.UTC().Format(time.RFC3339)+" (no lease may still hold the old key); the next rotate or audit retires it")
			return nil
		}
		x.say("waiting %s before retiring the old key", left.Round(time.Second))
		if err := x.r.Sleep(ctx, left); err != nil {
			return err
		}
	}
	// The old version comes from a tag anyone with TagResource can write:
	// the labels, read now, decide whether its key may still be in use.
	if err := x.retirable(s.Old); err != nil {
		x.step(StepRetire, OutcomeFailed, err.Error())
		return err
	}
	old, err := x.read(ctx, s.Old)
	if errors.Is(err, keyform.ErrRevoked) {
		// Rotating after a revocation: the old version is the tombstone,
		// and the key it replaced was disabled by the revocation.
		s.Retire = retireDone
		x.step(StepRetire, OutcomeSkipped, "the old version "+s.Old+" is a revocation tombstone: no key to retire")
		x.lastTag = s.String()
		if writeTag {
			return x.writeRetired(ctx, s)
		}
		return nil
	}
	if err != nil {
		x.step(StepRetire, OutcomeFailed, err.Error())
		return err
	}
	defer old.Key.Wipe()
	x.rec.OldKeyID = old.KeyID
	rid := retireID(old)
	switch {
	case rid == "" || x.r.Retirer == nil:
		s.Retire = retireManual
		why := "the old version is a plain key with no vendor key id"
		if rid != "" {
			why = "no admin client for this vendor (rotation.admin)"
		}
		x.step(StepRetire, OutcomeManual, why+"; disable the old key at the vendor by hand (it is AWSPREVIOUS, version "+s.Old+")")
	default:
		if err := x.r.Retirer.Disable(ctx, rid); err != nil && !gone(err) {
			x.step(StepRetire, OutcomeFailed, err.Error())
			return err
		}
		s.Retire = retireDone
		x.step(StepRetire, OutcomeDone, "old key "+old.KeyID+" retired at the vendor")
	}
	x.lastTag = s.String()
	if writeTag {
		return x.writeRetired(ctx, s)
	}
	return nil
}

// writeRetired writes the state tag after the retire step; a failure is
// that step's in the record (which would otherwise end on it done).
func (x *run) writeRetired(ctx context.Context, s state) error {
	if err := x.tag(ctx, s); err != nil {
		err = fmt.Errorf("write the state tag %s after the retirement: %w; rerun keylease rotate or audit: the retirement is repeated (a key already gone counts as retired)", StateTag, err)
		x.step(StepRetire, OutcomeFailed, err.Error())
		return err
	}
	return nil
}

// retirable refuses to retire version vid while it is AWSCURRENT or
// AWSPENDING (its key is, or is about to be, the one leases get), by the
// labels this run read before changing any (x.labels; nil once this run
// promoted, when the old version is the one it moved AWSCURRENT from).
func (x *run) retirable(vid string) error {
	for _, stage := range x.labels[vid] {
		if stage == stageCurrent || stage == stagePending {
			return fail(lease.ExitLease, fmt.Errorf("the tag %s names version %s as the old key to retire, but it is %s; the tag is not what keylease wrote: check who changed it (CloudTrail TagResource), remove it and rerun",
				StateTag, vid, stage))
		}
	}
	return nil
}

// gone: the vendor no longer has the key (a rerun after the delete).
func gone(err error) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.Status == 404
}

func (x *run) updateRegistry(ctx context.Context) error {
	today := x.r.Now().UTC().Format(time.DateOnly)
	ed := registryEdit{Path: x.t.RegistryPath, Vendor: x.e.Vendor, Env: x.e.Env, Mode: x.t.RegistryUpdate,
		Set: map[string]any{"last_rotated": today}, Shown: "last_rotated: " + today,
		Repo: x.t.Repo, RepoPath: x.t.RepoPath, Branch: "keylease/rotate-" + x.e.Vendor + "-" + x.e.Env,
		Message: "keylease: " + x.e.Vendor + "." + x.e.Env + " rotated " + today,
		Title:   "keylease: rotate " + x.e.Vendor + "." + x.e.Env + " (last_rotated " + today + ")",
		Body: fmt.Sprintf("keylease rotate rotated %s.%s on %s (rotation %s): AWSCURRENT is version %s, the old key is %s.\n\nThis PR only records `last_rotated`; it contains no secret.",
			x.e.Vendor, x.e.Env, today, x.rec.RotationID, x.rec.NewVersionID, retireWord(x.rec))}
	detail, url, err := applyRegistry(ctx, ed, x.r.PR, x.r.Mask)
	if err != nil {
		return err
	}
	x.rec.PullRequest = url
	outcome := OutcomeDone
	if ed.Mode == UpdateNone || ed.Mode == "" {
		outcome = OutcomeSkipped
	}
	x.step(StepRegistry, outcome, detail)
	return nil
}

func retireWord(r *Record) string {
	if !r.RetirePendingUntil.IsZero() {
		return "retired after " + r.RetirePendingUntil.Format(time.RFC3339) + " by the next rotate or audit"
	}
	return "retired"
}

// writeInPlace replaces path's content keeping its mode (a temp file and a
// rename, so a crash never leaves half a registry).
func writeInPlace(path string, b []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".keylease-tmp"
	if err := os.WriteFile(tmp, b, fi.Mode().Perm()); err != nil { //nolint:gosec // the --registry path the operator gave
		return fmt.Errorf("write the registry: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write the registry: %w", err)
	}
	return nil
}

// plan prints what a rotation would do; it has only read (DescribeSecret).
func (x *run) plan(cur, pend string) error {
	steps := []string{}
	if pend != "" {
		steps = append(steps, "create: resume AWSPENDING version "+pend)
	} else if x.e.Rotation.Method == registry.MethodStaged {
		steps = append(steps, "create: needs an AWSPENDING value put by an operator: "+stagedCommand(x.e))
	} else {
		steps = append(steps, "create: mint "+keyName(x.e.Vendor, x.e.Env, x.rec.RotationID)+" through the admin API and put it as AWSPENDING (ClientRequestToken "+requestToken(x.rec.RotationID)+")")
	}
	steps = append(steps,
		"test: the vendor's validity check; only valid goes on",
		"promote: AWSCURRENT from version "+cur+" to the new version (the old becomes AWSPREVIOUS), AWSPENDING removed",
		fmt.Sprintf("retire: the old key after %s", x.t.RetireAfter),
		"registry: last_rotated = today ("+orNone(x.t.RegistryUpdate)+")",
		"record: "+RecordSchema)
	for _, s := range steps {
		x.say("plan: %s", s)
	}
	x.step(StepCreate, OutcomeSkipped, "dry run: nothing changed")
	return nil
}

func orNone(s string) string {
	if s == "" {
		return UpdateNone
	}
	return s
}

// stagedCommand is the exact command an operator runs for a staged vendor;
// NEW_KEY and NEW_KEY_ID are placeholders, never a value.
func stagedCommand(e *registry.Entry) string {
	region := ""
	if e.Ref.Region != "" {
		region = " --region " + e.Ref.Region
	}
	return "aws secretsmanager put-secret-value --secret-id " + shellQuote(e.Ref.SecretID) + region +
		` --secret-string '{"api_key":"NEW_KEY","key_id":"NEW_KEY_ID"}' --version-stages AWSPENDING`
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.:+=@-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
