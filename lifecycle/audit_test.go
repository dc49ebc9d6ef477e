package lifecycle

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/mintname"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// auditRegistry seeds one entry per registry finding, plus the admin entry
// and a healthy rotated one (ci) whose pending retirement is overdue.
const auditRegistry = `# keylease registry (audit test)
openai:
  admin:
    secret_ref: "aws-sm://openai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "aws-sm://openai/ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-11-28
    rotation:
      method: mint
      admin: admin
      project_id: "proj_abc"
  dev:
    secret_ref: "aws-sm://openai/dev"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-01-01
  stage:
    secret_ref: "aws-sm://openai/stage"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
  gone:
    secret_ref: "aws-sm://openai/gone"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    revoked: true
    revoked_at: 2026-11-20
  old:
    secret_ref: "aws-sm://openai/old"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    revoked: true
    revoked_at: 2026-11-20
  eval:
    mode: minted
    admin: admin
    project_id: "proj_abc"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
`

const auditPolicy = `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "admin": 300, "ci": 900, "dev": 900, "stage": 900, "gone": 900, "old": 900, "eval": 900, "prod": 300},
  "rotation_days": {"ci": 30, "dev": 30, "prod": 14}}`

const pinned = "keylease/keylease@0123456789abcdef0123456789abcdef01234567"

// auditWorkflow: one step leases the revoked entry, one hands a vendor key
// to a step that is not keylease.
var auditWorkflow = `name: ci
on: push
permissions:
  id-token: write
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: ` + pinned + `
        with:
          vendors: openai
          environment: gone
      - run: make eval
        env:
          OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}
      - run: ./deploy.sh
        env:
          DEPLOY_HOOK: ${{ secrets.DEPLOY_HOOK }}
`

type auditWorld struct {
	t       testing.TB
	stack   *emulators.Stack
	oa      *vendorfake.OpenAI
	gh      *githubfake.Server
	vars    map[string]string
	dir     string
	reg     string
	pol     string
	secrets []string
	fps     masking.FingerprintList
	leaked  string // a vendor key printed in the run's log
	fpValue string // a value found only by its fingerprint, in the artifact
	oldSA   string // ci's AWSPREVIOUS service account
	stderr  bytes.Buffer
}

const ghToken = "ghs_auditTestToken0123456789abcdefABCD"

func newAuditWorld(t testing.TB) *auditWorld {
	t.Helper()
	ctx := context.Background()
	base := newWorld(t) // the emulators, the admin key and its first ci key
	stack, oa := base.stack, base.oa
	gh, err := githubfake.Start("", ghToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	w := &auditWorld{t: t, stack: stack, oa: oa, gh: gh, vars: base.vars, dir: base.dir, secrets: append([]string{ghToken}, base.secrets...)}
	w.vars["GITHUB_API_URL"] = gh.APIURL()
	w.vars["GITHUB_TOKEN"] = ghToken
	w.vars["GITHUB_REPOSITORY"] = "acme/app"
	w.vars["GITHUB_STEP_SUMMARY"] = filepath.Join(w.dir, "summary.md")
	w.reg, w.pol = base.reg, base.pol
	write(t, w.reg, auditRegistry)
	write(t, w.pol, auditPolicy)

	admin := base.admin
	c, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Project(secret.FromString(admin), project)
	mint := func(name string) (vendorapi.Minted, string) {
		m, err := p.Mint(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		form, err := keyform.Encode(m.Key, m.KeyID, map[string]string{retireIDField: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		w.secrets = append(w.secrets, string(m.Key.Bytes()), string(form.Bytes()))
		return m, string(form.Bytes())
	}
	// ci: rotated two hours ago, old key's retirement (900 s after) overdue.
	old, oldForm := mint("ci-old")
	_, newForm := mint("ci-new")
	w.oldSA = old.ID
	_, oldVID := stack.SM.Put(stack.Region, "openai/ci", smfake.Value{String: oldForm})
	_, newVID := stack.SM.Put(stack.Region, "openai/ci", smfake.Value{String: newForm})
	at := time.Now().Add(-2 * time.Hour).Unix()
	stack.SM.SetTag(stack.Region, "openai/ci", StateTag, fmt.Sprintf("rot=%s new=%s old=%s at=%d retire=pending registry=done", rotationID("openai", "ci", oldVID, 0), newVID, oldVID, at))
	// dev: a plain key, overdue for rotation.
	_, devKey := oa.AddKey(project, "dev", false)
	stack.Seed("openai/dev", devKey)
	// gone: revoked, but AWSCURRENT still the key.
	_, goneKey := oa.AddKey(project, "gone", false)
	stack.Seed("openai/gone", goneKey)
	// old: revoked properly, but the key's version was read after revoked_at.
	_, oldKey := oa.AddKey(project, "old", false)
	_, keyVID := stack.SM.Put(stack.Region, "openai/old", smfake.Value{String: oldKey})
	tomb, _ := keyform.EncodeTombstone(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), "leaked")
	stack.SM.Put(stack.Region, "openai/old", smfake.Value{String: string(tomb)})
	stack.SM.SetAccessed(stack.Region, "openai/old", keyVID, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	w.secrets = append(w.secrets, devKey, goneKey, oldKey)
	// eval: a lease-minted key whose lease ended an hour ago.
	mint(mintname.Format("openai", "eval", "4242", time.Now().Add(-time.Hour)))

	// GitHub: the workflow, a vendor-key secret, a run whose log and
	// artifact leaked.
	repo := gh.AddRepo("acme", "app", "main")
	_, leaked := oa.AddKey(project, "leaked", false)
	fpValue := "Zq7" + strings.Repeat("xK9pL2mN", 4) // no vendor shape: found only by its fingerprint
	sum := sha256.Sum256([]byte(fpValue))
	w.fps = masking.FingerprintList{Sums: map[string]string{hex.EncodeToString(sum[:]): "aws-sm://openai/legacy"}}
	w.secrets = append(w.secrets, leaked, fpValue)
	w.leaked, w.fpValue = leaked, fpValue
	gh.Lock()
	repo.Files["main"][".github/workflows/ci.yml"] = []byte(auditWorkflow)
	repo.Files["main"]["README.md"] = []byte("# app\n")
	repo.Secrets = []string{"OPENAI_API_KEY", "DEPLOY_HOOK"}
	repo.Envs["production"] = []string{"SENTRY_DSN"}
	repo.Runs = []int64{7}
	repo.Jobs[7] = []int64{71}
	repo.Logs[71] = []byte("2026-12-01T10:00:00Z starting\n2026-12-01T10:00:01Z export KEY=" + leaked + "\n")
	repo.RunArtifacts[7] = []int64{72}
	repo.Artifacts[72] = zipOf(t, map[string]string{"out/debug.txt": "token: " + fpValue + "\n", "out/ok.txt": "fine\n"})
	gh.Unlock()
	stack.SM.Faults.ResetCounts()
	return w
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte(files[n]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (w *auditWorld) getenv(k string) string { return w.vars[k] }

func (w *auditWorld) options() AuditOptions {
	return AuditOptions{
		Lease: lease.Options{RegistryPath: w.reg, PolicyPath: w.pol, Env: "admin", RoleARN: w.stack.RoleARN,
			OIDCIssuer: w.vars["KEYLEASE_OIDC_ISSUER"], Identity: lease.IdentityOIDC, Version: "test"},
		Fingerprints: w.fps,
		Sleep:        func(context.Context, time.Duration) error { return nil },
		Outputs:      AuditOutputs{ReportPath: filepath.Join(w.dir, "report.json"), SARIFPath: filepath.Join(w.dir, "audit.sarif"), Version: "test"},
	}
}

// audit runs the audit and leak-checks everything it wrote.
func (w *auditWorld) audit(o AuditOptions) (*auditreport.Report, int, error) {
	w.t.Helper()
	var out bytes.Buffer
	w.stderr.Reset()
	rep, code, err := RunAudit(context.Background(), o, lease.IO{Stdout: &out, Stderr: &w.stderr, Getenv: w.getenv, Environ: func() []string { return nil }})
	w.check("stdout", out.Bytes())
	w.check("stderr", w.stderr.Bytes())
	if err != nil {
		w.check("error", []byte(err.Error()))
	}
	for _, p := range []string{o.Outputs.ReportPath, o.Outputs.SARIFPath, w.vars["GITHUB_STEP_SUMMARY"]} {
		if b, rerr := os.ReadFile(p); rerr == nil {
			w.check(filepath.Base(p), b)
		}
	}
	return rep, code, err
}

func (w *auditWorld) check(what string, b []byte) {
	w.t.Helper()
	for _, s := range w.secrets {
		leakcheck.Assert(w.t, what, b, s)
	}
}

func ids(rep *auditreport.Report) map[string]int {
	m := map[string]int{}
	for _, f := range rep.Findings {
		m[f.ID]++
	}
	return m
}

// TestAuditFindsEachFindingOnce: a world with exactly one of each finding
// gives each once and nothing else; nothing unreached or skipped; no value
// anywhere; the overdue retirement is performed; exit 4 (leaks).
func TestAuditFindsEachFindingOnce(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	rep, code, err := w.audit(w.options())
	if err != nil {
		t.Fatalf("audit: %v\nstderr:\n%s", err, w.stderr.String())
	}
	want := []string{auditreport.RotationOverdue, auditreport.SecretMissing, auditreport.RevokedStillCurrent, auditreport.AccessedAfterRevocation,
		auditreport.OldKeyNotRetired, auditreport.OrphanedMintedKey, auditreport.RevokedRefInWorkflow, auditreport.SecretExposedToSteps,
		auditreport.VendorKeyInGitHub, auditreport.LeakInLogs, auditreport.LeakInArtifacts}
	got := ids(rep)
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("%s reported %d times, want once", id, got[id])
		}
		delete(got, id)
	}
	if len(got) > 0 {
		t.Errorf("unexpected findings %v", got)
	}
	if len(rep.Unreached) > 0 || len(rep.Skipped) > 0 {
		t.Errorf("unreached %v skipped %v", rep.Unreached, rep.Skipped)
	}
	if t.Failed() || os.Getenv("AUDIT_DUMP") != "" {
		b, _ := rep.Marshal()
		t.Logf("report:\n%s\nstderr:\n%s", b, w.stderr.String())
	}
	if code != auditreport.ExitLeak {
		t.Errorf("exit %d, want 4 (a leak finding)", code)
	}
	for _, f := range rep.Findings {
		if f.Severity != auditreport.DefaultSeverity(f.ID) {
			t.Errorf("%s severity %s, want the default %s", f.ID, f.Severity, auditreport.DefaultSeverity(f.ID))
		}
		if f.ID == auditreport.SecretExposedToSteps || f.ID == auditreport.RevokedRefInWorkflow {
			if f.File != ".github/workflows/ci.yml" || f.Line == 0 {
				t.Errorf("%s at %s:%d, want the workflow file and line", f.ID, f.File, f.Line)
			}
		}
		if f.ID == auditreport.AccessedAfterRevocation && !strings.Contains(f.Detail, "day resolution") {
			t.Errorf("accessed-after-revocation does not state its day resolution: %s", f.Detail)
		}
	}
	w.gh.Lock()
	rejected := w.gh.BlobAuthRejected
	w.gh.Unlock()
	if rejected != 0 {
		t.Errorf("%d downloads carried the GitHub token to the storage URL", rejected)
	}
	// The pending retirement was performed with rotate's step.
	if tag := w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag]; !strings.Contains(tag, "retire=done") {
		t.Errorf("state tag after the audit: %q, want retire=done", tag)
	}
	if n := w.oa.ServiceAccounts(project); n != 3 { // the harness's first key, ci's current, the orphan (reported, not deleted)
		t.Errorf("%d service accounts at the vendor, want 3 (the old ci key retired)", n)
	}
	// The report reads back and the SARIF holds the workflow and registry findings.
	b, err := os.ReadFile(filepath.Join(w.dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := auditreport.Read(b)
	if err != nil || len(back.Findings) != len(rep.Findings) {
		t.Fatalf("report read back: %v (%d findings)", err, len(back.Findings))
	}
	sarif, _ := os.ReadFile(filepath.Join(w.dir, "audit.sarif"))
	for _, s := range []string{`"ruleId": "secret-exposed-to-steps"`, `"ruleId": "rotation-overdue"`, `"uri": ".github/workflows/ci.yml"`} {
		if !bytes.Contains(sarif, []byte(s)) {
			t.Errorf("SARIF lacks %s", s)
		}
	}
	validateAuditSARIF(t, sarif)
	summary, _ := os.ReadFile(w.vars["GITHUB_STEP_SUMMARY"])
	if !bytes.Contains(summary, []byte("| high | `leak-in-logs` |")) {
		t.Errorf("job summary lacks the leak row:\n%s", summary)
	}

	// A second run: the audit's own reads are not reads after revocation,
	// and the retirement it did is not reported again.
	rep2, _, err := w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	got2 := ids(rep2)
	if got2[auditreport.AccessedAfterRevocation] != 1 || got2[auditreport.OldKeyNotRetired] != 0 {
		t.Errorf("second run: %v; want the one seeded access after revocation and no old key", got2)
	}
}

// TestAuditLeaksByDetectorAndFingerprint: a key in a job log and in an
// artifact is found by its vendor detector and, without one, by its
// fingerprint, in both places.
func TestAuditLeaksByDetectorAndFingerprint(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	w.gh.Lock()
	repo := w.gh.RepoState("acme", "app")
	repo.Logs[71] = []byte("step 1\nexport LEGACY=" + w.fpValue + "\nexport OPENAI_API_KEY=" + w.leaked + "\n")
	repo.Artifacts[72] = zipOf(t, map[string]string{"a/env.txt": "OPENAI_API_KEY=" + w.leaked + "\n", "b/legacy.txt": w.fpValue + "\n"})
	w.gh.Unlock()
	rep, code, err := w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		auditreport.LeakInLogs + " openai-project-key at line 3": true, auditreport.LeakInLogs + " fingerprint (aws-sm://openai/legacy) at line 2": true,
		auditreport.LeakInArtifacts + " openai-project-key at line 1": true, auditreport.LeakInArtifacts + " fingerprint (aws-sm://openai/legacy) at line 1": true,
	}
	for _, f := range rep.Findings {
		if f.ID != auditreport.LeakInLogs && f.ID != auditreport.LeakInArtifacts {
			continue
		}
		key := f.ID + " " + strings.SplitN(f.Detail, ";", 2)[0]
		if !want[key] {
			t.Errorf("unexpected %s", key)
		}
		delete(want, key)
	}
	if len(want) > 0 || code != auditreport.ExitLeak {
		t.Fatalf("not found: %v (exit %d)", want, code)
	}
}
