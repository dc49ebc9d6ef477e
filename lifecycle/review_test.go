package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// TestRevokeIgnoresForgedTagNamingCurrentAsTombstone: a TagResource-only
// actor writes a revocation tag whose id makes the real AWSCURRENT version
// look like the revocation's tombstone and whose version is another one.
// revoke --version current must still disable the current key and put a
// real tombstone, not revoke the version the tag names.
func TestRevokeIgnoresForgedTagNamingCurrentAsTombstone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatal(err)
	}
	cur, curKey := w.keyAt("AWSCURRENT")
	forged := fmt.Sprintf("rev=%s version=%s at=%d vendor=pending verify=pending local=pending registry=pending",
		strings.ReplaceAll(cur, "-", ""), w.oldVID, w.now.Unix())
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", RevokeTag, forged)
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("revoke: %v\n%s", err, w.stderr.String())
	}
	if res.Record.VersionID != cur {
		t.Fatalf("revoked version %s, want the current %s", res.Record.VersionID, cur)
	}
	if v := w.verdict(curKey); v != vendorapi.Invalid {
		t.Fatalf("the current key is %s at the vendor after revoke --version current", v)
	}
	w.assertTombstoned("openai/ci", cur)
}

// TestRevokeIgnoresForgedCompleteTag: a tag (well-formed, with the right
// id) that says the revocation of the current version is complete while
// that version is still AWSCURRENT is not believed: revoke disables the
// key and puts the tombstone instead of saying "already revoked".
func TestRevokeIgnoresForgedCompleteTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	forged := revState{ID: revocationID("openai", "ci", w.oldVID), Version: w.oldVID, At: w.now,
		Vendor: progDone, Verify: "invalid", Local: progDone, Registry: progDone}
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", RevokeTag, forged.String())
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("revoke: %v\n%s", err, w.stderr.String())
	}
	if res.Record.AlreadyRevoked {
		t.Fatal("a forged tag made revoke report the current key as already revoked")
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the current key is %s at the vendor", v)
	}
	w.assertTombstoned("openai/ci", w.oldVID)
}

// TestRotateNeverRetiresCurrentFromForgedTag: a hand-written rotation tag
// naming the AWSCURRENT version as both the new and the old one must not
// make rotate disable the current key at the vendor.
func TestRotateNeverRetiresCurrentFromForgedTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	forged := state{RotationID: rotationID("openai", "ci", w.oldVID, 0), New: w.oldVID, Old: w.oldVID, At: w.now.Add(-48 * time.Hour),
		Retire: retirePending, Registry: regPending}
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", StateTag, forged.String())
	_, err := w.rotate(w.options())
	if v := w.verdict(w.oldKey); v != vendorapi.Valid {
		t.Fatalf("the AWSCURRENT key is %s at the vendor after rotate (err %v)", v, err)
	}
	if err == nil || !strings.Contains(err.Error(), StateTag) {
		t.Fatalf("rotate: %v, want a refusal naming the tag", err)
	}
}

// TestAuditNeverRetiresPendingFromForgedTag: a hand-written rotation tag
// naming the AWSPENDING version (a rotation under way) as the old key due
// for retirement must not make the scheduled audit delete that key.
func TestAuditNeverRetiresPendingFromForgedTag(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	c, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	m, err := c.Project(secret.FromString(w.adminKey()), project).Mint(t.Context(), "ci-pending")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := keyform.Encode(m.Key, m.KeyID, map[string]string{retireIDField: m.ID})
	w.secrets = append(w.secrets, string(m.Key.Bytes()), string(form.Bytes()))
	_, pend := w.stack.SM.Put(w.stack.Region, "openai/ci", smfake.Value{String: string(form.Bytes())}, "AWSPENDING")
	var cur string
	for id, st := range w.stack.SM.Stages(w.stack.Region, "openai/ci") {
		if slices.Contains(st, "AWSCURRENT") {
			cur = id
		}
	}
	forged := state{RotationID: rotationID("openai", "ci", pend, 0), New: cur, Old: pend, At: time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second),
		Retire: retirePending, Registry: regDone}
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", StateTag, forged.String())
	if _, _, err := w.audit(w.options()); err != nil {
		t.Fatal(err)
	}
	cv, _ := c.Check(t.Context(), m.Key)
	if cv != vendorapi.Valid {
		t.Fatalf("the AWSPENDING key is %s after the audit: it retired a key a rotation is promoting", cv)
	}
}

// adminKey is the OpenAI admin key the audit world stored.
func (w *auditWorld) adminKey() string {
	for id, st := range w.stack.SM.Stages(w.stack.Region, "openai/admin") {
		if slices.Contains(st, "AWSCURRENT") {
			v, _ := w.stack.SM.Value(w.stack.Region, "openai/admin", id)
			return v.String
		}
	}
	w.t.Fatal("no admin key")
	return ""
}

// TestStagedTaggedCrashThenNewPendingResumes: a staged rotation is killed
// between its state tag and the move; the operator then puts another
// AWSPENDING value. The rerun must rotate to it, not refuse forever with
// "retire pending" for an old key that is still AWSCURRENT.
func TestStagedTaggedCrashThenNewPendingResumes(t *testing.T) {
	t.Parallel()
	w, sw := stagedWorld(t)
	an, oldID := sw.an, sw.oldID
	o := w.options()
	o.Vendor = "anthropic"
	w.killedAt(o, StepPromoteTagged)
	id2, key2 := an.AddKey("second")
	form2, _ := keyform.Encode(secret.FromString(key2), id2, nil)
	w.secrets = append(w.secrets, key2, string(form2.Bytes()))
	_, pend2 := w.stack.SM.Put(w.stack.Region, "anthropic/ci", smfake.Value{String: string(form2.Bytes())}, smfake.StagePending)
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	st := w.stagesOf("anthropic/ci")
	if !slices.Equal(st[pend2], []string{"AWSCURRENT"}) || !slices.Equal(st[w.oldVID], []string{"AWSPREVIOUS"}) {
		t.Fatalf("stages after the rerun: %v", st)
	}
	if an.Status(oldID) != "inactive" || an.Status(id2) != "active" {
		t.Fatalf("old key %s, new key %s; want inactive, active", an.Status(oldID), an.Status(id2))
	}
}

// TestIncidentRerunAfterCrashBeforeRotationTag: an incident's revoke is
// done and its mint rotation was killed between the promotion and the
// state tag (AWSCURRENT is the replacement, AWSPENDING still on it, no tag
// naming it). The rerun must keep the leaked version as the revoked one —
// not revoke the replacement — finish the rotation, and scan for the
// leaked value.
func TestIncidentRerunAfterCrashBeforeRotationTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// What the first run left: the vendor step done and verified for the
	// leaked (then current) version, local steps left to the incident...
	c, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	if err := c.Project(secret.FromString(w.admin), project).Disable(t.Context(), w.oldSA); err != nil {
		t.Fatal(err)
	}
	rev := revState{ID: revocationID("openai", "ci", w.oldVID), Version: w.oldVID, At: w.now,
		Vendor: progDone, Verify: "invalid", Local: progSkipped, Registry: progSkipped}
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", RevokeTag, rev.String())
	// ...and its rotation killed right after the move of AWSCURRENT.
	o := w.options()
	o.Force = true
	w.killedAt(o, StepPromote)
	newVID, replacement := w.keyAt("AWSCURRENT")
	scanDir := filepath.Join(w.dir, "repo")
	if err := os.MkdirAll(scanDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(scanDir, "notes.txt"), "key: "+w.oldKey+"\n")
	io := w.incidentOptions()
	io.ScanPaths = []string{scanDir}
	res, err := w.incident(io)
	if res == nil {
		t.Fatalf("incident: %v", err)
	}
	if res.Record.RevokedVersionID != w.oldVID {
		t.Fatalf("the rerun revoked version %s, want the leaked %s (the replacement is %s)", res.Record.RevokedVersionID, w.oldVID, newVID)
	}
	if w.verdict(replacement) != vendorapi.Valid {
		t.Fatal("the rerun disabled the replacement key")
	}
	if len(res.Record.Findings) != 1 || res.ExitCode != lease.ExitLeak {
		t.Fatalf("findings %+v exit %d (%v), want the leaked value found once, exit 4", res.Record.Findings, res.ExitCode, err)
	}
	st := w.stagesOf("openai/ci")
	if !slices.Equal(st[newVID], []string{"AWSCURRENT"}) || len(st[w.oldVID]) != 0 {
		t.Fatalf("stages %v: the replacement should be AWSCURRENT alone and the leaked version unlabelled", st)
	}
}

// TestRevokeKeepsARotationsPending: a mint rotation was killed after it put
// its new key as AWSPENDING; revoking the current key must leave that
// label where it is (the tombstone's put must not take it), so the minted
// key stays accounted for and the next rotate promotes it instead of
// leaving it live at the vendor with no label.
func TestRevokeKeepsARotationsPending(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.killedAt(w.options(), StepCreate)
	pend, pendKey := w.keyAt("AWSPENDING")
	if _, err := w.revoke(w.revokeOptions()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	w.assertTombstoned("openai/ci", w.oldVID)
	if st := w.stagesOf("openai/ci"); !slices.Equal(st[pend], []string{"AWSPENDING"}) {
		t.Fatalf("the rotation's pending version %s has %v after the revoke, want AWSPENDING", pend, st[pend])
	}
	res, err := w.rotate(w.options())
	if err != nil {
		t.Fatalf("rotate after revoke: %v", err)
	}
	if cur, _ := w.keyAt("AWSCURRENT"); cur != pend || !res.Records[0].Resumed {
		t.Fatalf("AWSCURRENT %s, want the resumed pending %s (record %+v)", cur, pend, res.Records[0])
	}
	if w.verdict(pendKey) != vendorapi.Valid || w.oa.ServiceAccounts(project) != 1 || w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount) != 1 {
		t.Fatalf("want exactly the one minted key live: %d service accounts, %d minted", w.oa.ServiceAccounts(project), w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount))
	}
}

// TestAuditLeavesAKilledPromotionsOldKey: a mint rotation was killed
// between its promotion and its tag, and the tag still holds an older
// rotation's "retire pending" for the version that has just become
// AWSPREVIOUS. The audit must see the unfinished promotion (as rotate
// does) and not retire the old key early, while leases may still hold it.
func TestAuditLeavesAKilledPromotionsOldKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stale := state{RotationID: rotationID("openai", "ci", w.oldVID, 0), New: "00000000-0000-0000-0000-000000000001", Old: w.oldVID,
		At: w.now.Add(-72 * time.Hour), Retire: retirePending, Registry: regPending}
	w.stack.SM.SetTag(w.stack.Region, "openai/ci", StateTag, stale.String())
	w.killedAt(w.options(), StepPromote)
	w.auditBase()
	if v := w.verdict(w.oldKey); v != vendorapi.Valid {
		t.Fatalf("the old key is %s after the audit: retired before the killed rotation finished", v)
	}
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rotate rerun: %v", err)
	}
	w.assertRotated()
}

// TestRevokeRerunWithAnotherReason: the first run put the tombstone but
// could not move AWSCURRENT (throttled past the retries); a rerun with a
// different --reason must finish with that tombstone, not fail because
// the tombstone's version id (the revocation's request token) cannot take
// another value.
func TestRevokeRerunWithAnotherReason(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpUpdateSecretVersionStage, Kind: fault.Throttle, Times: 10})
	if _, err := w.revoke(w.revokeOptions()); err == nil {
		t.Fatal("first run succeeded despite throttling")
	}
	w.stack.SM.Faults.Clear()
	o := w.revokeOptions()
	o.Reason = "confirmed-leak"
	res, err := w.revoke(o)
	if err != nil {
		t.Fatalf("rerun with another reason: %v", err)
	}
	w.assertTombstoned("openai/ci", w.oldVID) // the first run's tombstone (suspected-leak)
	if res.Record.TombstoneVersionID == "" || w.verdict(w.oldKey) != vendorapi.Invalid {
		t.Fatalf("record %+v", res.Record)
	}
}

// TestRetireAfterKeptForLaterRuns: rotate --retire-after 7d promises in its
// record "retire pending until" seven days on; an audit (or rotate) run the
// next day with the default retire-after (the TTL cap, 15 minutes) must
// keep that promise and leave the old key live.
func TestRetireAfterKeptForLaterRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = 7 * 24 * time.Hour
	res, err := w.rotate(o)
	if err != nil {
		t.Fatal(err)
	}
	until := res.Records[0].RetirePendingUntil
	if !until.Equal(w.now.Add(7 * 24 * time.Hour)) {
		t.Fatalf("retire pending until %v", until)
	}
	w.now = w.now.Add(24 * time.Hour)
	w.auditBase()
	if v := w.verdict(w.oldKey); v != vendorapi.Valid {
		t.Fatalf("the old key is %s a day later: retired six days before the record said", v)
	}
	ro := w.options()
	ro.RetireAfter = -1 // the default: the TTL cap
	if _, err := w.rotate(ro); err != nil || w.verdict(w.oldKey) != vendorapi.Valid {
		t.Fatalf("rotate a day later: %v; the old key is %s", err, w.verdict(w.oldKey))
	}
	w.now = until
	if _, err := w.rotate(ro); err != nil {
		t.Fatalf("rotate at the retire time: %v", err)
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the old key is %s at its retire time", v)
	}
}

// TestRejectedKeyKeptWhenItsDeleteFails: the new key's test is
// indeterminate (the vendor fails) and so is the delete of the rejected
// key. AWSPENDING must keep that key, so it stays accounted for and the
// rerun deals with it; removing the label left a live key nobody tracks,
// and the rerun minted a second one beside it.
func TestRejectedKeyKeptWhenItsDeleteFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Error, Status: 503})
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIDeleteServiceAccount, Kind: fault.Error, Status: 503})
	_, err := w.rotate(w.options())
	if err == nil {
		t.Fatal("rotate succeeded with an indeterminate test")
	}
	if !strings.Contains(err.Error(), "AWSPENDING is kept") {
		t.Fatalf("error %q does not say the pending key is kept", err)
	}
	if pend, _ := w.keyAt("AWSPENDING"); pend == "" {
		t.Fatal("AWSPENDING removed while its key is still live at the vendor")
	}
	w.oa.Faults.Clear()
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	w.assertRotated()
}

// TestStagedRejectedKeySaysDeleteIt: a staged rotation whose new key is
// refused removes AWSPENDING but cannot delete the operator's key; the
// error names that key and says it is still at the vendor.
func TestStagedRejectedKeySaysDeleteIt(t *testing.T) {
	t.Parallel()
	w, sw := stagedWorld(t)
	an, newID := sw.an, sw.newID
	an.Faults.Add(fault.Rule{Op: vendorfake.OpAnthropicModels, Kind: fault.Error, Status: 401, Code: "authentication_error"})
	o := w.options()
	o.Vendor = "anthropic"
	_, err := w.rotate(o)
	if err == nil {
		t.Fatal("rotate succeeded with a refused key")
	}
	if msg := err.Error(); !strings.Contains(msg, "the rejected key "+newID+" is still at the vendor") || strings.Contains(msg, "rerun to try again") {
		t.Fatalf("error %q", msg)
	}
}

// TestIncidentRerunSaysReplacementNotRevoked: a second incident run on an
// entry whose first incident finished resumes that one (it revokes nothing
// new) and says so, with the command for the case that the replacement
// itself leaked, instead of only "already revoked".
func TestIncidentRerunSaysReplacementNotRevoked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.incident(w.incidentOptions()); err != nil {
		t.Fatalf("first: %v", err)
	}
	cur, replacement := w.keyAt("AWSCURRENT")
	w.stderr.Reset()
	res, err := w.incident(w.incidentOptions())
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if w.verdict(replacement) != vendorapi.Valid {
		t.Fatal("the rerun revoked the replacement")
	}
	want := "if the replacement (version " + cur + ") leaked as well, revoke it: keylease revoke --vendor openai --env ci"
	if !slices.ContainsFunc(res.Record.LeftByHand, func(s string) bool { return strings.Contains(s, want) }) ||
		!strings.Contains(w.stderr.String(), "the replacement (AWSCURRENT, version "+cur+") is not revoked") {
		t.Fatalf("left by hand %q; stderr:\n%s", res.Record.LeftByHand, w.stderr.String())
	}
}

// auditBase runs the audit over the rotation world's registry and returns
// its findings by id.
func (w *world) auditBase() map[string]int {
	w.t.Helper()
	ao := AuditOptions{Lease: lease.Options{RegistryPath: w.reg, PolicyPath: w.pol, Env: "admin", RoleARN: w.stack.RoleARN,
		OIDCIssuer: w.vars["KEYLEASE_OIDC_ISSUER"], Identity: lease.IdentityOIDC, Version: "test"},
		Now: func() time.Time { return w.now }, Sleep: func(context.Context, time.Duration) error { return nil }}
	var out bytes.Buffer
	rep, _, err := RunAudit(context.Background(), ao, lease.IO{Stdout: &out, Stderr: &w.stderr, Getenv: w.getenv, Environ: func() []string { return nil }})
	w.check("stdout", out.Bytes())
	w.check("stderr", w.stderr.Bytes())
	if err != nil {
		w.t.Fatalf("audit: %v", err)
	}
	return ids(rep)
}

// TestAuditAfterRevokeNotAccessedAfter: keylease revoke reads the version
// it revokes (for its key id) on the revocation day; the audit must not
// report that read as accessed-after-revocation.
func TestAuditAfterRevokeNotAccessedAfter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.revoke(w.revokeOptions()); err != nil {
		t.Fatal(err)
	}
	got := w.auditBase()
	if got[auditreport.AccessedAfterRevocation] != 0 {
		t.Fatalf("findings %v: revoke's own read reported as a read after revocation", got)
	}
}

// TestRotateAfterRevokingItsPending: a mint rotation was killed after
// putting AWSPENDING, and that pending version was then revoked (or its
// label removed by hand). The version keeps the rotation's id, which
// Secrets Manager refuses for another value; the next rotate must still
// rotate (as the next attempt), not fail on every rerun.
func TestRotateAfterRevokingItsPending(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.killedAt(w.options(), StepCreate)
	pend, _ := w.keyAt("AWSPENDING")
	ro := w.revokeOptions()
	ro.Version = pend
	if _, err := w.revoke(ro); err != nil {
		t.Fatalf("revoke --version %s: %v", pend, err)
	}
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rotate after the pending version was revoked: %v", err)
	}
	w.assertRotated()
}

// crashAt is a Crash hook that ends the run after step, as a kill would.
func crashAt(step string) func(string) error {
	return func(s string) error {
		if s == step {
			return ErrCrash
		}
		return nil
	}
}

// killedAt runs rotation o until it is killed after step.
func (w *world) killedAt(o RotateOptions, step string) {
	w.t.Helper()
	o.Crash = crashAt(step)
	if _, err := w.rotate(o); !errors.Is(err, ErrCrash) {
		w.t.Fatalf("rotation: %v, want the injected crash at %s", err, step)
	}
}

// TestRotateForceFinishesThenRotates: --force over a mint promotion killed
// before its tag finishes that rotation (the old key retired) and then
// rotates again, as --force says; it used to stop after finishing, leaving
// the version it was asked to replace AWSCURRENT (the incident relies on
// --force to replace a leaked current key).
func TestRotateForceFinishesThenRotates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.killedAt(w.options(), StepPromote)
	leaked, leakedKey := w.keyAt("AWSCURRENT")
	o := w.options()
	o.Force = true
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rotate --force: %v", err)
	}
	cur, curKey := w.keyAt("AWSCURRENT")
	if cur == leaked {
		t.Fatalf("AWSCURRENT is still version %s after rotate --force", leaked)
	}
	if w.verdict(w.oldKey) != vendorapi.Invalid || w.verdict(leakedKey) != vendorapi.Invalid || w.verdict(curKey) != vendorapi.Valid {
		t.Fatal("want both earlier keys retired and the new one valid")
	}
	if n := w.oa.ServiceAccounts(project); n != 1 {
		t.Fatalf("%d service accounts live, want 1", n)
	}
}

// TestRevokeDuringUntaggedPromotionKeepsOldKeyTracked: a mint rotation was
// killed between the promotion and its tag, then the (new) current key is
// revoked. Revoking moves AWSPREVIOUS off the rotation's old version, which
// only that label tied to the rotation; the old key must stay tracked and
// be retired by the next rotate, not stay live at the vendor forever.
func TestRevokeDuringUntaggedPromotionKeepsOldKeyTracked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.killedAt(w.options(), StepPromote)
	if _, err := w.revoke(w.revokeOptions()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rotate after revoke: %v", err)
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the first rotation's old key is %s: nothing tracks it any more", v)
	}
	if n := w.oa.ServiceAccounts(project); n != 1 {
		t.Fatalf("%d service accounts live, want only the replacement", n)
	}
}

// TestRecognisedPromotionKeepsRetireAfter: the run that finishes a mint
// promotion killed before its tag, with --retire-after 7d, records that
// retire time too; an audit a day later (default retire-after) leaves the
// old key live.
func TestRecognisedPromotionKeepsRetireAfter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.killedAt(w.options(), StepPromote)
	o := w.options()
	o.RetireAfter = 7 * 24 * time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(24 * time.Hour)
	w.auditBase()
	if v := w.verdict(w.oldKey); v != vendorapi.Valid {
		t.Fatalf("the old key is %s a day later: retired before the rerun's retire time", v)
	}
}

// TestRevokeRerunAfterRotateDoesNotRevokeReplacement: a revocation killed
// before its local step, then a rotate (the replacement is now
// AWSCURRENT). Rerunning "keylease revoke" with the default --version
// current must not revoke the replacement as if it were the unfinished
// one: it refuses and names the version to finish, and --version that
// finishes it.
func TestRevokeRerunAfterRotateDoesNotRevokeReplacement(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.revokeKilledThenRotated()
	_, replacement := w.keyAt("AWSCURRENT")
	_, err := w.revoke(w.revokeOptions())
	if w.verdict(replacement) != vendorapi.Valid {
		t.Fatalf("the rerun revoked the replacement (err %v)", err)
	}
	if code := codeOf(err); err == nil || code != lease.ExitConfig || !strings.Contains(err.Error(), "--version "+w.oldVID) {
		t.Fatalf("rerun: exit %d %v, want exit 2 naming --version %s", code, err, w.oldVID)
	}
	fin := w.revokeOptions()
	fin.Version = w.oldVID
	if _, err := w.revoke(fin); err != nil {
		t.Fatalf("revoke --version %s: %v", w.oldVID, err)
	}
	if st := w.stagesOf("openai/ci"); len(st[w.oldVID]) != 0 || w.verdict(replacement) != vendorapi.Valid {
		t.Fatalf("stages %v after finishing the revocation", st)
	}
}

// TestIncidentAfterUnfinishedRevokeOfAnotherVersion: with an unfinished
// revocation of an earlier version in the tags, an incident (about the
// current key, by definition) revokes and replaces the current key rather
// than stopping at revoke's question of which version is meant.
func TestIncidentAfterUnfinishedRevokeOfAnotherVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.revokeKilledThenRotated()
	leakedVID, leaked := w.keyAt("AWSCURRENT")
	res, err := w.incident(w.incidentOptions())
	if err != nil {
		t.Fatalf("incident: %v\n%s", err, w.stderr.String())
	}
	if res.Record.RevokedVersionID != leakedVID || w.verdict(leaked) != vendorapi.Invalid {
		t.Fatalf("revoked version %s (want %s); the leaked key is %s", res.Record.RevokedVersionID, leakedVID, w.verdict(leaked))
	}
	if cur, key := w.keyAt("AWSCURRENT"); cur == leakedVID || w.verdict(key) != vendorapi.Valid {
		t.Fatal("no valid replacement is AWSCURRENT")
	}
}

// revokeKilledThenRotated leaves a revocation of the current version
// killed before its local step, then rotates a replacement in.
func (w *world) revokeKilledThenRotated() {
	w.t.Helper()
	o := w.revokeOptions()
	o.Crash = crashAt(StepInvalidateTagged)
	if _, err := w.revoke(o); !errors.Is(err, ErrCrash) {
		w.t.Fatalf("revoke: %v, want the injected crash", err)
	}
	if _, err := w.rotate(w.options()); err != nil {
		w.t.Fatalf("rotate: %v", err)
	}
}
