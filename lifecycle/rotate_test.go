package lifecycle

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/vendorapi"
)

// TestMintRotationEndToEnd: a mint rotation with --retire-after 0 leaves one
// live key (the new AWSCURRENT), the old one AWSPREVIOUS and deleted at the
// vendor, the registry's last_rotated updated with its comments kept, and a
// value-free record; the calls per step are pinned.
func TestMintRotationEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	res, err := w.rotate(w.options())
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, w.stderr.String())
	}
	sm, va := w.stack.SM.Faults.Counts(), w.oa.Faults.Counts()
	w.assertRotated()
	b, _ := os.ReadFile(w.reg)
	if !strings.Contains(string(b), "last_rotated: 2026-12-01") || !strings.Contains(string(b), "# rotated monthly") || !strings.Contains(string(b), "# the admin key") {
		t.Fatalf("registry not updated with comments kept:\n%s", b)
	}
	if _, err := registry.Load(w.reg, w.pol); err != nil {
		t.Fatalf("updated registry does not load: %v", err)
	}
	rec := res.Records[0]
	if rec.Validity != "valid" || rec.NewKeyID == "" || rec.OldKeyID == "" || rec.NewVersionID == "" || rec.OldVersionID != w.oldVID || res.ExitCode != 0 {
		t.Fatalf("record %+v", rec)
	}
	var names []string
	for _, s := range rec.Steps {
		names = append(names, s.Name+":"+s.Outcome)
	}
	if got, want := strings.Join(names, " "), "create:done test:done promote:done retire:done registry:done"; got != want {
		t.Fatalf("steps %q, want %q", got, want)
	}
	// Call counts of one rotation (excluding the lease's own OIDC/STS/fetch
	// of the admin key): Secrets Manager Describe, Put, 2 × UpdateStage
	// (promote, remove pending), Get (old version, to retire), 1 × Tag
	// (retired + registry done) — vendor: list, create, models (test),
	// delete (retire). Rotation's own: 6 Secrets Manager + 4 vendor = 10.
	// GetSecretValue: the admin key (the lease's Fetch) and the old version.
	wantSM := map[string]int{smfake.OpDescribeSecret: 1, smfake.OpPutSecretValue: 1, smfake.OpUpdateSecretVersionStage: 2,
		smfake.OpGetSecretValue: 2, smfake.OpTagResource: 1}
	for op, n := range wantSM {
		if sm[op] != n {
			t.Errorf("Secrets Manager %s: %d calls, want %d (all: %v)", op, sm[op], n, sm)
		}
	}
	wantV := map[string]int{vendorfake.OpOpenAIListServiceAccounts: 1, vendorfake.OpOpenAICreateServiceAccount: 1,
		vendorfake.OpOpenAIModels: 1, vendorfake.OpOpenAIDeleteServiceAccount: 1}
	for op, n := range wantV {
		if va[op] != n {
			t.Errorf("vendor %s: %d calls, want %d (all: %v)", op, va[op], n, va)
		}
	}
	w.check("stderr", w.stderr.Bytes())
}

// TestRotateTwiceDoesNotRotateTwice: a second run finds AWSCURRENT is the
// version it promoted and the registry done: nothing changes (exit 0);
// --force rotates again.
func TestRotateTwiceDoesNotRotateTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatal(err)
	}
	cur, _ := w.keyAt("AWSCURRENT")
	w.stack.SM.Faults.ResetCounts()
	res, err := w.rotate(w.options())
	if err != nil || !res.Records[0].AlreadyRotated {
		t.Fatalf("second run: %v %+v", err, res)
	}
	if again, _ := w.keyAt("AWSCURRENT"); again != cur {
		t.Fatal("second run rotated again")
	}
	c := w.stack.SM.Faults.Counts()
	if c[smfake.OpPutSecretValue]+c[smfake.OpUpdateSecretVersionStage]+c[smfake.OpTagResource] != 0 {
		t.Fatalf("second run changed state: %v", c)
	}
	o := w.options()
	o.Force = true
	if _, err := w.rotate(o); err != nil {
		t.Fatal(err)
	}
	if again, _ := w.keyAt("AWSCURRENT"); again == cur {
		t.Fatal("--force did not rotate")
	}
	if n := w.oa.ServiceAccounts(project); n != 1 {
		t.Fatalf("%d live service accounts after two rotations, want 1", n)
	}
}

// TestInvalidPendingNeverPromoted: a pending value the vendor rejects
// leaves AWSCURRENT untouched and AWSPENDING removed (exit 3); the rerun
// mints a fresh key and the rejected value is never promoted.
func TestInvalidPendingNeverPromoted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const badKey = "sk-proj-NotAKeyTheVendorKnows0123456789abcdefABCDEF"
	bad := `{"api_key":"` + badKey + `","key_id":"key_bogus"}`
	w.secrets = append(w.secrets, bad, badKey)
	_, badVID := w.stack.SM.Put(w.stack.Region, "openai/ci", smfake.Value{String: bad}, smfake.StagePending)
	res, err := w.rotate(w.options())
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease {
		t.Fatalf("err %v, want exit 3", err)
	}
	if res.Records[0].Validity != "invalid" || res.Records[0].ExitCode != 3 {
		t.Fatalf("record validity %q exit %d", res.Records[0].Validity, res.Records[0].ExitCode)
	}
	if cur, _ := w.keyAt("AWSCURRENT"); cur != w.oldVID {
		t.Fatal("AWSCURRENT moved to a rejected value")
	}
	if pend, _ := w.keyAt("AWSPENDING"); pend != "" {
		t.Fatal("AWSPENDING left on the rejected value")
	}
	if w.verdict(w.oldKey) != vendorapi.Valid {
		t.Fatal("the old key was retired although nothing was promoted")
	}
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if cur, _ := w.keyAt("AWSCURRENT"); cur == badVID {
		t.Fatal("the rejected value was promoted on the rerun")
	}
	w.assertRotated()
}

// TestStagedWithoutPendingPrintsCommand: exit 3 with the exact command, no
// value.
func TestStagedWithoutPendingPrintsCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	write(t, w.reg, strings.Replace(registryText, "method: mint", "method: staged", 1))
	_, err := w.rotate(w.options())
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease {
		t.Fatalf("err %v, want exit 3", err)
	}
	want := `aws secretsmanager put-secret-value --secret-id openai/ci --secret-string '{"api_key":"NEW_KEY","key_id":"NEW_KEY_ID"}' --version-stages AWSPENDING`
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error lacks the command:\n%v", err)
	}
	if c := w.stack.SM.Faults.Counts(); c[smfake.OpPutSecretValue]+c[smfake.OpUpdateSecretVersionStage] != 0 {
		t.Fatalf("staged failure changed state: %v", c)
	}
}

// TestDryRunChangesNothing: the plan is printed; only DescribeSecret is
// called, no vendor call at all.
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.DryRun = true
	if _, err := w.rotate(o); err != nil {
		t.Fatal(err)
	}
	c := w.stack.SM.Faults.Counts()
	if c[smfake.OpPutSecretValue]+c[smfake.OpUpdateSecretVersionStage]+c[smfake.OpTagResource] != 0 || c[smfake.OpDescribeSecret] != 1 {
		t.Fatalf("dry run calls: %v", c)
	}
	if v := w.oa.Faults.Counts(); len(v) != 0 {
		for _, n := range v {
			if n != 0 {
				t.Fatalf("dry run called the vendor: %v", v)
			}
		}
	}
	if !strings.Contains(w.stderr.String(), "plan: create: mint keylease-openai-ci-") {
		t.Fatalf("no plan printed:\n%s", w.stderr.String())
	}
	if b, _ := os.ReadFile(w.reg); string(b) != registryText {
		t.Fatal("dry run changed the registry")
	}
}

// TestRejectedMintThenRerun: the vendor rejects the key a rotation minted
// (its version keeps the rotation's request token as id, which Secrets
// Manager will not take for another value); the attempt is counted, the
// key deleted, and the rerun mints under the next attempt's id and rotates:
// one live key, AWSCURRENT never on the rejected version.
func TestRejectedMintThenRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Error, Status: 401, Code: "invalid_api_key", Times: 1})
	if _, err := w.rotate(w.options()); err == nil {
		t.Fatal("a rejected key was promoted")
	}
	if cur, _ := w.keyAt("AWSCURRENT"); cur != w.oldVID || w.oa.ServiceAccounts(project) != 1 {
		t.Fatalf("after the rejection: AWSCURRENT %s, %d service accounts", cur, w.oa.ServiceAccounts(project))
	}
	rejected := requestToken(rotationID("openai", "ci", w.oldVID, 0))
	if _, err := w.rotate(w.options()); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if cur, _ := w.keyAt("AWSCURRENT"); cur == rejected || cur != requestToken(rotationID("openai", "ci", w.oldVID, 1)) {
		t.Fatalf("AWSCURRENT %s: want the second attempt's version, not the rejected %s", cur, rejected)
	}
	w.assertRotated()
	w.check("stderr", w.stderr.Bytes())
}
