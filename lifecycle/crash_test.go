package lifecycle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// TestCrashAfterEachStepResumes kills the run after each step (the Crash
// hook aborts with no cleanup, as a killed process would), reruns, and
// asserts the rotation finishes with exactly one live new key, the old one
// retired, and no second mint.
func TestCrashAfterEachStepResumes(t *testing.T) {
	t.Parallel()
	// A mint rotation has no tag before the move (StepPromoteTagged is
	// staged-only: TestStagedCrashBetweenTagAndPromote); a crash after
	// StepPromote is recognised by the new version's id, one after
	// StepRegistry by AWSPENDING still on AWSCURRENT.
	for _, step := range []string{StepCreate, StepTest, StepPromote, StepRetire, StepRegistry} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.killedAt(w.options(), step)
			// Never two live keys unaccounted for: at most the old and the one
			// named in AWSPENDING/AWSCURRENT.
			if n := w.oa.ServiceAccounts(project); n > 2 {
				t.Fatalf("%d service accounts after the crash", n)
			}
			// Until the rerun promotes, the old key is AWSCURRENT and must
			// stay live at the vendor.
			ro := w.options()
			ro.Crash = func(s string) error {
				if s == StepTest && w.verdict(w.oldKey) != vendorapi.Valid {
					t.Errorf("after a crash at %s, the rerun retired the old key while it was still AWSCURRENT", step)
				}
				return nil
			}
			res, err := w.rotate(ro)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			w.assertRotated()
			if n := w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount); n != 1 {
				t.Fatalf("%d keys minted over both runs, want 1", n)
			}
			if !res.Records[0].Resumed {
				t.Fatalf("rerun after %s did not resume: %+v", step, res.Records[0])
			}
		})
	}
}

// TestCrashBetweenMintAndPut: the key is minted, then the put fails (the
// store refuses; equivalent to a crash before the put). The minted key is
// deleted at once, and a rerun mints one new key: one live key in the end.
func TestCrashBetweenMintAndPut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpPutSecretValue, Kind: fault.Error, Status: 400, Code: "AccessDeniedException", Times: 1})
	if _, err := w.rotate(w.options()); err == nil {
		t.Fatal("first run succeeded despite the failed put")
	}
	if n := w.oa.ServiceAccounts(project); n != 1 {
		t.Fatalf("%d service accounts after a failed put, want only the old one", n)
	}
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatal(err)
	}
	w.assertRotated()
}

// TestOrphanFromAKilledRunIsDeleted: a run killed between mint and put
// leaves a key named with the rotation id; the rerun finds it by name and
// deletes it before minting, so no unaccounted key stays live.
func TestOrphanFromAKilledRunIsDeleted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := rotationID("openai", "ci", w.oldVID, 0)
	c, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	m, err := c.Project(secret.FromString(w.admin), project).Mint(t.Context(), keyName("openai", "ci", id))
	if err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, string(m.Key.Bytes()))
	res, err := w.rotate(w.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Records[0].OrphansDeleted != 1 {
		t.Fatalf("orphans deleted %d, want 1", res.Records[0].OrphansDeleted)
	}
	w.assertRotated()
}

// TestPromoteFailureResumes: the move of AWSCURRENT fails (throttled past
// the SDK's retries); the rerun tests again and promotes: one live key.
func TestPromoteFailureResumes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpUpdateSecretVersionStage, Kind: fault.Throttle, Times: 10})
	if _, err := w.rotate(w.options()); err == nil {
		t.Fatal("first run succeeded despite throttling")
	}
	w.stack.SM.Faults.Clear()
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatal(err)
	}
	w.assertRotated()
	if n := w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount); n != 1 {
		t.Fatalf("%d mints, want 1", n)
	}
}

// TestVendorFaults: 429 with Retry-After and 503 at the vendor are retried
// (the rotation succeeds); a 401 on the admin API is not retried.
func TestVendorFaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Throttle, Times: 1, Delay: time.Second})
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIListServiceAccounts, Kind: fault.Error, Status: 503, Times: 1})
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rotate with retried faults: %v", err)
	}
	w.assertRotated()
	if n := w.oa.Faults.Count(vendorfake.OpOpenAIModels); n < 2 {
		t.Fatalf("models called %d times: the 429 was not retried", n)
	}

	w2 := newWorld(t)
	w2.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIListServiceAccounts, Kind: fault.Error, Status: 401, Code: "invalid_api_key"})
	if _, err := w2.rotate(w2.options()); err == nil {
		t.Fatal("rotate succeeded with a refused admin key")
	}
	if n := w2.oa.Faults.Count(vendorfake.OpOpenAIListServiceAccounts); n != 1 {
		t.Fatalf("a 401 was retried: %d calls", n)
	}
	if cur, _ := w2.keyAt("AWSCURRENT"); cur != w2.oldVID {
		t.Fatal("AWSCURRENT moved")
	}
}

// TestRetirePendingThenNextRun: with a retire-after longer than 15 min the
// old key stays live and is recorded retire pending; a later run (past the
// time) retires it and starts no new rotation.
func TestRetirePendingThenNextRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = time.Hour
	res, err := w.rotate(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records[0].RetirePendingUntil.IsZero() || w.verdict(w.oldKey) != vendorapi.Valid {
		t.Fatalf("want retire pending and the old key live: %+v", res.Records[0])
	}
	if tags := w.stack.SM.Tags(w.stack.Region, "openai/ci"); tags[StateTag] == "" {
		t.Fatal("no state tag")
	}
	// Before the time: nothing to do, the old key stays.
	w.now = w.now.Add(30 * time.Minute)
	if _, err := w.rotate(o); err != nil {
		t.Fatal(err)
	}
	if w.verdict(w.oldKey) != vendorapi.Valid {
		t.Fatal("retired before retire-after")
	}
	w.now = w.now.Add(time.Hour)
	res, err = w.rotate(o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Records[0].AlreadyRotated {
		t.Fatalf("the run after retire-after rotated again: %+v", res.Records[0])
	}
	w.assertRotated()
}

// TestShortRetireAfterWaits: a retire-after of at most 15 min is waited out
// in the same run (the Sleep seam records the wait).
func TestShortRetireAfterWaits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = 5 * time.Minute
	var waited time.Duration
	o.Sleep = func(_ context.Context, d time.Duration) error { waited += d; w.now = w.now.Add(d); return nil }
	if _, err := w.rotate(o); err != nil {
		t.Fatal(err)
	}
	if waited != 5*time.Minute {
		t.Fatalf("waited %s, want 5m", waited)
	}
	w.assertRotated()
}

// anthropicWorld is a world whose Anthropic calls go to a fresh fake; it
// returns the fake and its admin key.
func anthropicWorld(t *testing.T) (w *world, an *vendorfake.Anthropic, admin string) {
	t.Helper()
	w = newWorld(t)
	an, err := vendorfake.StartAnthropic()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = an.Close() })
	w.vars["ANTHROPIC_BASE_URL"] = an.URL()
	return w, an, an.AddAdminKey()
}

// staged is what stagedWorld set up: the fake, the old and new keys' ids,
// the new key and its AWSPENDING version id.
type staged struct {
	an           *vendorfake.Anthropic
	oldID, newID string
	newKey, pend string
}

// stagedWorld is a world whose entry is a staged Anthropic rotation with an
// operator's AWSPENDING value.
func stagedWorld(t *testing.T) (*world, staged) {
	t.Helper()
	w, an, admin := anthropicWorld(t)
	s := staged{an: an}
	var oldKey string
	s.oldID, oldKey = an.AddKey("old")
	s.newID, s.newKey = an.AddKey("new")
	oldForm, _ := keyform.Encode(secret.FromString(oldKey), s.oldID, nil)
	newForm, _ := keyform.Encode(secret.FromString(s.newKey), s.newID, nil)
	w.swapVendor("anthropic", "staged", "", admin, string(oldForm.Bytes()))
	w.secrets = append(w.secrets, oldKey, s.newKey, string(newForm.Bytes()))
	_, s.pend = w.stack.SM.Put(w.stack.Region, "anthropic/ci", smfake.Value{String: string(newForm.Bytes())}, smfake.StagePending)
	return w, s
}

// TestStagedCrashAfterEachStepResumes: a staged promotion (the operator's
// version id, which keylease cannot recognise by itself) writes the state
// tag before the move; a crash after each step, then a rerun, ends with the
// new key current, the old one inactive and AWSPENDING gone.
func TestStagedCrashAfterEachStepResumes(t *testing.T) {
	t.Parallel()
	for _, step := range []string{StepTest, StepPromoteTagged, StepPromote, StepRetire, StepRegistry} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			w, sw := stagedWorld(t)
			an, oldID, newID, pend := sw.an, sw.oldID, sw.newID, sw.pend
			o := w.options()
			o.Vendor = "anthropic"
			w.killedAt(o, step)
			if step == StepPromoteTagged || step == StepTest {
				if an.Status(oldID) != "active" {
					t.Fatalf("after a crash at %s the old key is %s before promotion", step, an.Status(oldID))
				}
			}
			if _, err := w.rotate(o); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			st := w.stagesOf("anthropic/ci")
			if len(st[pend]) != 1 || st[pend][0] != "AWSCURRENT" || len(st[w.oldVID]) != 1 || st[w.oldVID][0] != "AWSPREVIOUS" {
				t.Fatalf("stages after the rerun: %v", st)
			}
			if an.Status(oldID) != "inactive" || an.Status(newID) != "active" {
				t.Fatalf("old key %s, new key %s; want inactive, active", an.Status(oldID), an.Status(newID))
			}
			w.check("stderr", w.stderr.Bytes())
		})
	}
}

// TestDryRunAfterCrashChangesNothing: a dry run over a promotion that a
// crash left unfinished plans the rest and calls nothing that changes state.
func TestDryRunAfterCrashChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.killedAt(w.options(), StepPromote)
	w.stack.SM.Faults.ResetCounts()
	w.oa.Faults.ResetCounts()
	o := w.options()
	o.DryRun = true
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	for op, n := range w.stack.SM.Faults.Counts() {
		if op != smfake.OpDescribeSecret && n > 0 {
			t.Errorf("dry run called Secrets Manager %s %d times", op, n)
		}
	}
	if c := w.oa.Faults.Counts(); len(c) > 0 {
		for op, n := range c {
			if n > 0 {
				t.Errorf("dry run called the vendor %s %d times", op, n)
			}
		}
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Valid {
		t.Fatalf("the dry run retired the old key (%s)", v)
	}
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	w.assertRotated()
}

// TestRotateTagFailsAfterRegistry: the first state tag of a mint rotation
// is written after the old key's retirement and the registry write; when
// that TagResource fails (as a kill right there would leave it), the rerun
// recognises the promotion by its id and finishes: one mint, the old key
// retired, the tag says the registry is done.
func TestRotateTagFailsAfterRegistry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpTagResource, Kind: fault.Error, Status: 400, Code: "AccessDeniedException", Times: 1})
	first, err := w.rotate(w.options())
	if err == nil {
		t.Fatal("first run succeeded although its state tag failed")
	}
	// The record says which call failed, not "registry done" alone.
	steps := first.Records[0].Steps
	if last := steps[len(steps)-1]; last.Outcome != OutcomeFailed || !strings.Contains(last.Detail, StateTag) {
		t.Fatalf("the first run's record ends on %+v, want the failed state tag", last)
	}
	if n := w.stack.SM.Faults.Count(smfake.OpTagResource); n != 1 {
		t.Fatalf("%d TagResource calls in the first run, want the one that failed", n)
	}
	res, err := w.rotate(w.options())
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	w.assertRotated()
	if n := w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount); n != 1 {
		t.Fatalf("%d keys minted over both runs, want 1", n)
	}
	if !res.Records[0].Resumed {
		t.Fatalf("the rerun did not resume: %+v", res.Records[0])
	}
	s, ok := parseState(w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag])
	if !ok || s.Registry != regDone || s.Retire != retireDone {
		t.Fatalf("state tag after the rerun: %+v (ok %v)", s, ok)
	}
}

// TestAuditRetireTagFailsThenNextAuditFinishes: the audit retires an old
// key come due, and its state tag write then fails (as a kill right there
// would leave it: the tag still says retire pending). The next audit
// retires again (the vendor's 404 counts as done) and writes the tag.
func TestAuditRetireTagFailsThenNextAuditFinishes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	w.now = w.now.Add(2 * time.Hour)
	// The first two tag writes: the audit's own-reads tag, then the state
	// tag after the retirement.
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpTagResource, Kind: fault.Error, Status: 400, Code: "AccessDeniedException", Times: 2})
	w.auditBase()
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the old key is %s after the first audit, want retired", v)
	}
	if s, _ := parseState(w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag]); s.Retire != retirePending {
		t.Fatalf("the failed tag write was written: %+v", s)
	}
	got := w.auditBase()
	if s, _ := parseState(w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag]); s.Retire != retireDone {
		t.Fatalf("the second audit left the state tag %+v, want retire done", s)
	}
	if got[auditreport.OldKeyNotRetired] != 0 {
		t.Fatalf("findings %v: the retired key reported as not retired", got)
	}
}

// TestAuditOwnReadTagBeforeItsReads: the audit reads an old key come due
// for retirement on a revoked entry while two tag writes in a row fail;
// the next audit must not report the audit's own read as a read after the
// revocation. (The own-reads tag is written before the reads, so a kill
// after a read cannot leave it unwritten, and tried again after them; a
// kill itself has no hook in the audit.)
func TestAuditOwnReadTagBeforeItsReads(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := w.revoke(w.revokeOptions()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	w.now = w.now.Add(2 * time.Hour) // the old key's retire time has passed, the same day
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpTagResource, Kind: fault.Error, Status: 400, Code: "AccessDeniedException", Times: 2})
	w.auditBase()
	w.stack.SM.Faults.Clear()
	if got := w.auditBase(); got[auditreport.AccessedAfterRevocation] != 0 {
		t.Fatalf("findings %v: the audit's own read reported as a read after the revocation", got)
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the old key is %s after two audits, want retired", v)
	}
}

// TestRotateRetireTagFails: the next rotate retires an old key come due,
// and its state tag write then fails: the record ends on the failed tag
// (not on "retire done"), and a rerun retires again and writes it.
func TestRotateRetireTagFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	w.now = w.now.Add(2 * time.Hour)
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpTagResource, Kind: fault.Error, Status: 400, Code: "AccessDeniedException", Times: 1})
	res, err := w.rotate(o)
	if err == nil {
		t.Fatal("the run succeeded although its state tag failed")
	}
	steps := res.Records[0].Steps
	if last := steps[len(steps)-1]; last.Name != StepRetire || last.Outcome != OutcomeFailed || !strings.Contains(last.Detail, StateTag) {
		t.Fatalf("the record ends on %+v, want the retire step failed on the state tag", last)
	}
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	w.assertRotated()
	if s, _ := parseState(w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag]); s.Retire != retireDone {
		t.Fatalf("state tag after the rerun: %+v", s)
	}
}
