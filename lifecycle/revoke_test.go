package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

func (w *world) revokeOptions() RevokeOptions {
	ro := w.options()
	return RevokeOptions{Lease: ro.Lease, Vendor: "openai", Env: "ci", Reason: "suspected-leak", RegistryUpdate: UpdateWrite,
		Now: func() time.Time { return w.now },
		// Verification waits on the world's clock.
		Sleep: func(_ context.Context, d time.Duration) error { w.now = w.now.Add(d); return nil }}
}

func (w *world) revoke(o RevokeOptions) (*RevokeResult, error) {
	w.t.Helper()
	var out bytes.Buffer
	res, err := RunRevoke(context.Background(), o, lease.IO{Stdout: &out, Stderr: &w.stderr, Getenv: w.getenv, Environ: func() []string { return nil }})
	path := ""
	if res != nil {
		path = res.RecordPath
	}
	w.checkRun(out.Bytes(), err, path)
	return res, err
}

// checkRun leak-checks what a lifecycle command left: stdout, stderr, its
// error and its record.
func (w *world) checkRun(stdout []byte, err error, recordPath string) {
	w.t.Helper()
	w.check("stdout", stdout)
	w.check("stderr", w.stderr.Bytes())
	if err != nil {
		w.check("error", []byte(err.Error()))
	}
	if recordPath != "" {
		b, rerr := os.ReadFile(recordPath)
		if rerr != nil {
			w.t.Fatal(rerr)
		}
		w.check("record", b)
	}
}

// assertTombstoned: AWSCURRENT is a tombstone with the reason, the revoked
// version keeps no label, the registry says revoked with the date.
func (w *world) assertTombstoned(name, vid string) {
	w.t.Helper()
	st := w.stagesOf(name)
	if len(st[vid]) != 0 {
		w.t.Fatalf("the revoked version %s keeps labels %v", vid, st[vid])
	}
	for id, stages := range st {
		if !slices.Contains(stages, "AWSCURRENT") {
			continue
		}
		v, _ := w.stack.SM.Value(w.stack.Region, name, id)
		ts, ok := keyform.ParseTombstone([]byte(v.String))
		if !ok || ts.Reason != "suspected-leak" || !ts.At.Equal(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)) {
			w.t.Fatalf("AWSCURRENT %s is not the tombstone: ok %v %+v", id, ok, ts)
		}
		if len(stages) != 1 {
			w.t.Fatalf("tombstone labels %v", stages)
		}
		cfg, err := registry.Load(w.reg, w.pol)
		if err != nil {
			w.t.Fatal(err)
		}
		e, _ := cfg.Registry.Entry(strings.Split(name, "/")[0], "ci")
		if !e.Revoked || e.RevokedAt.Format(time.DateOnly) != "2026-12-01" {
			w.t.Fatalf("registry entry revoked %v at %v", e.Revoked, e.RevokedAt)
		}
		return
	}
	w.t.Fatalf("no AWSCURRENT: %v", st)
}

// TestRevokeOpenAIServiceAccountKey: the current key (a minted service
// account's) is revoked by deleting that service account; another service
// account and a user key of the project stay valid; AWSCURRENT is the
// tombstone; the registry says revoked; a lease with the old registry is
// refused "revoked on".
func TestRevokeOpenAIServiceAccountKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	other, err := c.Project(secret.FromString(w.admin), project).Mint(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	_, userKey := w.oa.AddKey(project, "alice", false)
	w.secrets = append(w.secrets, string(other.Key.Bytes()), userKey)
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("revoke: %v\n%s", err, w.stderr.String())
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		t.Fatalf("the revoked key is %s", v)
	}
	for _, k := range []string{string(other.Key.Bytes()), userKey} {
		if v := w.verdict(k); v != vendorapi.Valid {
			t.Fatalf("another key of the project is %s: the revocation hit the wrong key", v)
		}
	}
	w.assertTombstoned("openai/ci", w.oldVID)
	r := res.Record
	if r.Schema != RevocationSchema || r.VersionID != w.oldVID || r.KeyID == "" || r.VendorResult != progDone || r.Validity != "invalid" || r.ExitCode != 0 || r.Reason != "suspected-leak" {
		t.Fatalf("record %+v", r)
	}
	if n := w.oa.Faults.Count(vendorfake.OpOpenAIDeleteServiceAccount); n != 1 {
		t.Fatalf("%d service-account deletions, want 1", n)
	}
	// A stale registry (revocation not merged yet) still cannot lease it.
	write(t, w.reg, registryText)
	if code, msg := w.lease(); code != lease.ExitLease || !strings.Contains(msg, "revoked on 2026-12-01T12:00:00Z (suspected-leak)") {
		t.Fatalf("lease after revoke: exit %d, %s", code, msg)
	}
}

// lease runs exec's steps for openai.ci up to Fetch and returns the exit
// code and error text.
func (w *world) lease() (int, string) {
	w.t.Helper()
	o := w.options().Lease
	o.Vendors = []string{"openai"}
	o.Command = []string{"true"}
	var out, errb bytes.Buffer
	l := lease.New(o, lease.IO{Stdout: &out, Stderr: &errb, Getenv: w.getenv, Environ: func() []string { return nil }})
	defer l.Close()
	err := l.Load()
	if err == nil {
		err = l.Resolve()
	}
	if err == nil {
		err = l.Session(context.Background())
	}
	if err == nil {
		err = l.Fetch(context.Background())
	}
	if err == nil {
		return 0, ""
	}
	w.check("lease error", []byte(err.Error()))
	var le *lease.Error
	if !errors.As(err, &le) {
		return -1, err.Error()
	}
	return le.Code, err.Error()
}

// TestRevokeOpenAIByKeyID: a stored key with only its key_id: a user key
// is deleted as a project key, a service account's key by deleting its
// owner, found through the project key listing. Only that key dies.
func TestRevokeOpenAIByKeyID(t *testing.T) {
	t.Parallel()
	for _, owner := range []string{"user", "service_account"} {
		t.Run(owner, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var id, key string
			if owner == "user" {
				id, key = w.oa.AddKey(project, "bob", false)
			} else {
				c, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
				m, err := c.Project(secret.FromString(w.admin), project).Mint(t.Context(), "by-id")
				if err != nil {
					t.Fatal(err)
				}
				id, key = m.KeyID, string(m.Key.Bytes())
			}
			form, _ := keyform.Encode(secret.FromString(key), id, nil)
			_, vid := w.stack.SM.Put(w.stack.Region, "openai/ci", smfake.Value{String: string(form.Bytes())})
			w.secrets = append(w.secrets, key, string(form.Bytes()))
			if _, err := w.revoke(w.revokeOptions()); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if w.verdict(key) != vendorapi.Invalid || w.verdict(w.oldKey) != vendorapi.Valid {
				t.Fatalf("revoked key %s, the other (older) key %s", w.verdict(key), w.verdict(w.oldKey))
			}
			w.assertTombstoned("openai/ci", vid)
			want := vendorfake.OpOpenAIDeleteAPIKey
			if owner != "user" {
				want = vendorfake.OpOpenAIDeleteServiceAccount
			}
			if w.oa.Faults.Count(want) != 1 {
				t.Fatalf("%s not called once", want)
			}
		})
	}
}

// TestRevokeAnthropic: the key is set inactive; another key stays active.
func TestRevokeAnthropic(t *testing.T) {
	t.Parallel()
	w, an, admin := anthropicWorld(t)
	id, key := an.AddKey("ci")
	otherID, otherKey := an.AddKey("other")
	form, _ := keyform.Encode(secret.FromString(key), id, nil)
	w.swapVendor("anthropic", "staged", "", admin, string(form.Bytes()))
	w.secrets = append(w.secrets, key, otherKey)
	o := w.revokeOptions()
	o.Vendor = "anthropic"
	if _, err := w.revoke(o); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if an.Status(id) != "inactive" || an.Status(otherID) != "active" {
		t.Fatalf("revoked key %s, other key %s", an.Status(id), an.Status(otherID))
	}
	c, _ := vendorapi.NewAnthropic(vendorapi.Options{Getenv: w.getenv})
	if v, _ := c.Check(t.Context(), secret.FromString(key)); v != vendorapi.Invalid {
		t.Fatalf("the revoked key is %s", v)
	}
	w.assertTombstoned("anthropic/ci", w.oldVID)
}

// TestRevokeXAIWithoutKeyID: a plain stored xAI key (no key_id): its id is
// asked of GET /v1/api-key, and exactly that key is deleted.
func TestRevokeXAIWithoutKeyID(t *testing.T) {
	t.Parallel()
	w, xs := xaiWorld(t)
	mgmt := xs.AddManagementKey()
	_, key := xs.AddKey("team_1", "ci", false)
	_, other := xs.AddKey("team_1", "other", false)
	w.swapVendor("xai", "mint", "team_1", mgmt, key)
	w.secrets = append(w.secrets, key, other)
	o := w.revokeOptions()
	o.Vendor = "xai"
	res, err := w.revoke(o)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	c, _ := vendorapi.NewXAI(vendorapi.Options{Getenv: w.getenv})
	if v, _ := c.Check(t.Context(), secret.FromString(key)); v != vendorapi.Invalid {
		t.Fatalf("the revoked key is %s", v)
	}
	if v, _ := c.Check(t.Context(), secret.FromString(other)); v != vendorapi.Valid {
		t.Fatalf("the other key is %s", v)
	}
	if xs.Keys("team_1") != 1 || xs.Faults.Count(vendorfake.OpXAIDeleteKey) != 1 {
		t.Fatalf("%d keys left, %d deletes", xs.Keys("team_1"), xs.Faults.Count(vendorfake.OpXAIDeleteKey))
	}
	if !strings.Contains(res.Record.Steps[0].Detail, "deleted") {
		t.Fatalf("steps %+v", res.Record.Steps)
	}
	w.assertTombstoned("xai/ci", w.oldVID)
}

// TestRevokeManualPath: without an admin entry revoke prints the manual
// step (console, key hint, never the value) and changes nothing, exit 3;
// with --confirm-manual after the operator disabled the key, it verifies
// and invalidates.
func TestRevokeManualPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id, key := w.oa.AddKey(project, "carol", false)
	form, _ := keyform.Encode(secret.FromString(key), id, nil)
	_, vid := w.stack.SM.Put(w.stack.Region, "openai/ci", smfake.Value{String: string(form.Bytes())})
	w.secrets = append(w.secrets, key, string(form.Bytes()))
	write(t, w.reg, manualRegistry)
	before := w.stagesOf("openai/ci")
	res, err := w.revoke(w.revokeOptions())
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease {
		t.Fatalf("manual without --confirm-manual: %v, want exit 3", err)
	}
	if w.verdict(key) != vendorapi.Valid {
		t.Fatal("the key was disabled without --confirm-manual")
	}
	after := w.stagesOf("openai/ci")
	if len(after) != len(before) || !slices.Equal(after[vid], before[vid]) || w.stack.SM.Tags(w.stack.Region, "openai/ci")[RevokeTag] != "" {
		t.Fatalf("labels or tags changed: %v -> %v", before, after)
	}
	if b, _ := readFile(w.reg); strings.Contains(b, "revoked") {
		t.Fatal("the registry changed")
	}
	m := res.Record.Manual
	stderr := w.stderr.String()
	if m == nil || m.KeyID != id || !strings.HasPrefix(m.KeyHint, "sk-proj-…") || !strings.Contains(stderr, "platform.openai.com") || !strings.Contains(stderr, m.KeyHint) {
		t.Fatalf("manual step %+v; stderr:\n%s", m, stderr)
	}
	if n := w.oa.Faults.Count(vendorfake.OpOpenAIDeleteAPIKey) + w.oa.Faults.Count(vendorfake.OpOpenAIDeleteServiceAccount); n != 0 {
		t.Fatalf("%d vendor deletions", n)
	}

	// The operator deletes it at the console, then confirms.
	w.oa.Faults.ResetCounts()
	admin, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	if err := admin.Project(secret.FromString(w.admin), project).DeleteAPIKey(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	o := w.revokeOptions()
	o.ConfirmManual = true
	res, err = w.revoke(o)
	if err != nil {
		t.Fatalf("--confirm-manual: %v", err)
	}
	if res.Record.VendorResult != progManual || res.Record.Validity != "invalid" {
		t.Fatalf("record %+v", res.Record)
	}
	w.assertTombstoned("openai/ci", vid)
}

// TestRevokeIdempotent: a second run reports already revoked, exit 0, and
// calls nothing at the vendor.
func TestRevokeIdempotent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.revoke(w.revokeOptions()); err != nil {
		t.Fatal(err)
	}
	w.oa.Faults.ResetCounts()
	w.stack.SM.Faults.ResetCounts()
	w.now = w.now.Add(time.Hour)
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if !res.Record.AlreadyRevoked || res.ExitCode != 0 || !strings.Contains(w.stderr.String(), "already revoked") {
		t.Fatalf("second run %+v", res.Record)
	}
	if n := w.oa.Faults.Count(vendorfake.OpOpenAIDeleteServiceAccount) + w.oa.Faults.Count(vendorfake.OpOpenAIModels); n != 0 {
		t.Fatalf("the second run called the vendor %d times", n)
	}
	if n := w.stack.SM.Faults.Count(smfake.OpPutSecretValue) + w.stack.SM.Faults.Count(smfake.OpUpdateSecretVersionStage); n != 0 {
		t.Fatalf("the second run changed Secrets Manager (%d calls)", n)
	}
	w.assertTombstoned("openai/ci", w.oldVID)
}

// TestRevokeCrashAfterEachStep: a crash after each step, then a rerun:
// the end state is one revocation (one tombstone, one deletion that
// counted, the registry written once).
func TestRevokeCrashAfterEachStep(t *testing.T) {
	t.Parallel()
	for _, step := range []string{StepDisable, StepVerify, StepInvalidateTagged, StepInvalidate, StepRegistry} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			o := w.revokeOptions()
			o.Crash = crashAt(step)
			if _, err := w.revoke(o); !errors.Is(err, ErrCrash) {
				t.Fatalf("first run: %v, want the injected crash", err)
			}
			w.now = w.now.Add(time.Minute) // a rerun later must keep the first time
			res, err := w.revoke(w.revokeOptions())
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			w.now = w.now.Add(-time.Minute)
			w.assertTombstoned("openai/ci", w.oldVID)
			if w.verdict(w.oldKey) != vendorapi.Invalid {
				t.Fatal("the key is still valid")
			}
			tombs := 0
			for id := range w.stagesOf("openai/ci") {
				v, _ := w.stack.SM.Value(w.stack.Region, "openai/ci", id)
				if _, ok := keyform.ParseTombstone([]byte(v.String)); ok {
					tombs++
				}
			}
			if tombs != 1 {
				t.Fatalf("%d tombstone versions", tombs)
			}
			if !res.Record.Resumed || res.Record.TombstoneVersionID == "" {
				t.Fatalf("the rerun after %s did not resume: %+v", step, res.Record)
			}
		})
	}
}

// TestRevokeVendorFailureAfterLocalSteps: the vendor refuses the delete
// (5xx past the retries); the local steps still run (no lease can take the
// key), exit 3, and the record says the vendor step failed; a rerun once
// the vendor answers completes the revocation.
func TestRevokeVendorFailureAfterLocalSteps(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIDeleteServiceAccount, Kind: fault.Error, Status: 500})
	res, err := w.revoke(w.revokeOptions())
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease {
		t.Fatalf("revoke with a failing vendor: %v, want exit 3", err)
	}
	r := res.Record
	if r.VendorResult != progFailed || r.ExitCode != 3 || r.Outcome != OutcomeFailed || res.RecordPath == "" {
		t.Fatalf("record %+v", r)
	}
	if !strings.Contains(err.Error(), "local steps are done") {
		t.Fatalf("error does not say what happened: %v", err)
	}
	w.assertTombstoned("openai/ci", w.oldVID)
	if w.verdict(w.oldKey) != vendorapi.Valid {
		t.Fatal("the fault did not hold")
	}
	w.oa.Faults.Clear()
	res, err = w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if w.verdict(w.oldKey) != vendorapi.Invalid || res.Record.VendorResult != progDone {
		t.Fatalf("rerun did not disable: %+v", res.Record)
	}
}

// TestRevokeVerifyWaitsForPropagation: the vendor answers indeterminate
// twice before invalid: verification retries on the injected clock; a key
// that stays valid is exit 3 after 60 s, the local steps done.
func TestRevokeVerifyWaitsForPropagation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Error, Status: 503, Times: 2})
	o := w.revokeOptions()
	o.Vendors = vendorapi.Options{MaxRetries: -1}
	start := w.now
	res, err := w.revoke(o)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if waited := w.now.Sub(start); waited != 2*verifyEvery || res.Record.Validity != "invalid" {
		t.Fatalf("waited %s, validity %s", waited, res.Record.Validity)
	}

	// --confirm-manual although nobody disabled the key: it stays valid.
	w2 := newWorld(t)
	write(t, w2.reg, manualRegistry)
	o = w2.revokeOptions()
	o.ConfirmManual = true
	start = w2.now
	res, err = w2.revoke(o)
	if res == nil {
		t.Fatalf("no result: %v", err)
	}
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease || res.Record.Validity != "valid" {
		t.Fatalf("a still-valid key: %v, record %+v", err, res.Record)
	}
	if w2.now.Sub(start) != DefaultVerifyFor {
		t.Fatalf("verified for %s", w2.now.Sub(start))
	}
	w2.assertTombstoned("openai/ci", w2.oldVID)
}

// TestRevokeDryRun changes nothing and calls no vendor mutation.
func TestRevokeDryRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.revokeOptions()
	o.DryRun = true
	if _, err := w.revoke(o); err != nil {
		t.Fatal(err)
	}
	if w.verdict(w.oldKey) != vendorapi.Valid || w.oa.Faults.Count(vendorfake.OpOpenAIDeleteServiceAccount) != 0 {
		t.Fatal("dry run disabled the key")
	}
	if n := w.stack.SM.Faults.Count(smfake.OpPutSecretValue) + w.stack.SM.Faults.Count(smfake.OpUpdateSecretVersionStage) + w.stack.SM.Faults.Count(smfake.OpTagResource); n != 0 {
		t.Fatalf("dry run changed Secrets Manager (%d calls)", n)
	}
	if !strings.Contains(w.stderr.String(), "plan: disable: delete OpenAI service account") {
		t.Fatalf("plan:\n%s", w.stderr.String())
	}
}

// TestRevokePrevious: after a rotation (retire pending), --version
// previous revokes the old key and only its label goes; AWSCURRENT and the
// registry's revoked flag stay.
func TestRevokePrevious(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ro := w.options()
	ro.RetireAfter = time.Hour
	if _, err := w.rotate(ro); err != nil {
		t.Fatal(err)
	}
	cur, curKey := w.keyAt("AWSCURRENT")
	o := w.revokeOptions()
	o.Version = VersionPrevious
	res, err := w.revoke(o)
	if err != nil {
		t.Fatalf("revoke previous: %v", err)
	}
	st := w.stagesOf("openai/ci")
	if len(st[w.oldVID]) != 0 || !slices.Equal(st[cur], []string{"AWSCURRENT"}) {
		t.Fatalf("stages %v", st)
	}
	if w.verdict(w.oldKey) != vendorapi.Invalid || w.verdict(curKey) != vendorapi.Valid {
		t.Fatal("wrong key revoked")
	}
	if res.Record.TombstoneVersionID != "" {
		t.Fatal("a tombstone for a non-current version")
	}
	if b, _ := readFile(w.reg); strings.Contains(b, "revoked") {
		t.Fatal("the registry says revoked although the current key is live")
	}
}

// manualRegistry has no admin entry for openai.ci (a staged rotation
// without rotation.admin): revocation is by hand.
var manualRegistry = strings.NewReplacer("      admin: admin\n", "", "method: mint", "method: staged").Replace(registryText)

// TestRotateAfterRevoke: the way back after a revocation is a rotation:
// the old version is the tombstone, which has no key to retire, so the
// rotation completes (it must not fail reading the tombstone as a key);
// with revoked cleared, the entry leases the replacement.
func TestRotateAfterRevoke(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.revoke(w.revokeOptions()); err != nil {
		t.Fatal(err)
	}
	res, err := w.rotate(w.options())
	if err != nil {
		t.Fatalf("rotate after revoke: %v", err)
	}
	var retire Step
	for _, s := range res.Records[0].Steps {
		if s.Name == StepRetire {
			retire = s
		}
	}
	if retire.Outcome != OutcomeSkipped || !strings.Contains(retire.Detail, "tombstone") {
		t.Fatalf("retire step %+v", retire)
	}
	_, cur := w.keyAt("AWSCURRENT")
	if w.verdict(cur) != vendorapi.Valid {
		t.Fatal("the replacement is not valid")
	}
	write(t, w.reg, registryText) // an operator clears revoked
	if code, msg := w.lease(); code != 0 {
		t.Fatalf("lease of the replacement: exit %d %s", code, msg)
	}
}

// TestRevokeRegistryPR: --registry-update pr proposes revoked: true and
// revoked_at on keylease/revoke-openai-ci, comments kept; the local file is
// untouched; title, body and file hold no value; a second run opens no
// second PR.
func TestRevokeRegistryPR(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gh, repo := w.registryRepo(ghToken)
	o := w.revokeOptions()
	o.RegistryUpdate = UpdatePR
	res, err := w.revoke(o)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if res.Record.PullRequest == "" {
		t.Fatal("no PR URL in the record")
	}
	if _, err := w.revoke(o); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	gh.Lock()
	defer gh.Unlock()
	if len(repo.Pulls) != 1 {
		t.Fatalf("%d pull requests, want 1", len(repo.Pulls))
	}
	pr := repo.Pulls[0]
	file := string(repo.Files["keylease/revoke-openai-ci"]["registry.yaml"])
	if pr.Head != "keylease/revoke-openai-ci" || !strings.Contains(file, "revoked: true") || !strings.Contains(file, "revoked_at: 2026-12-01") || !strings.Contains(file, "# rotated monthly") {
		t.Fatalf("PR head %q; file:\n%s", pr.Head, file)
	}
	for name, b := range map[string]string{"PR title": pr.Title, "PR body": pr.Body, "PR file": file} {
		w.check(name, []byte(b))
	}
	if b, _ := readFile(w.reg); b != registryText {
		t.Fatal("pr mode changed the local registry")
	}
}

// TestRevokeTagFailsAfterVendorDelete: the key is deleted at the vendor and
// the first revocation tag then fails (as a kill right there would leave
// it: nothing in Secrets Manager says the vendor step ran). The rerun
// deletes again (the vendor's 404 counts as done) and finishes: one
// tombstone, the vendor step done, the key invalid.
func TestRevokeTagFailsAfterVendorDelete(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpTagResource, Kind: fault.Error, Status: 400, Code: "AccessDeniedException", Times: 1})
	first, err := w.revoke(w.revokeOptions())
	if err == nil {
		t.Fatal("first run succeeded although its revocation tag failed")
	}
	// The record says which call failed, not "disable done" alone.
	steps := first.Record.Steps
	if last := steps[len(steps)-1]; last.Outcome != OutcomeFailed || !strings.Contains(last.Detail, RevokeTag) {
		t.Fatalf("the first run's record ends on %+v, want the failed revocation tag", last)
	}
	if w.verdict(w.oldKey) != vendorapi.Invalid {
		t.Fatal("the first run did not delete the key at the vendor before its tag")
	}
	if _, ok := w.stack.SM.Tags(w.stack.Region, "openai/ci")[RevokeTag]; ok {
		t.Fatal("the failed tag was written")
	}
	res, err := w.revoke(w.revokeOptions())
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	w.assertTombstoned("openai/ci", w.oldVID)
	if r := res.Record; r.VendorResult != progDone || r.Validity != vendorapi.Invalid.String() {
		t.Fatalf("rerun record: %+v", r)
	}
}
