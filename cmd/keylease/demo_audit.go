package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
	"github.com/keylease/keylease/secret"
)

const demoAuditWorkflow = `name: eval
on: push
jobs:
  eval:
    runs-on: ubuntu-latest
    steps:
      - run: python eval.py
        env:
          OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}
`

// demoAudit runs `keylease audit` on the rotation's registry and on an
// emulated GitHub repository that does three things wrong: a long-lived
// vendor key as an Actions secret, a workflow handing it to a step, and a
// job log that printed a key. It returns the keys it planted, for the
// canary.
func demoAudit(ctx context.Context, d *demoSetup, getenv func(string) string, out *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== audit (keylease audit --repo demo/app --report audit.json) ==")
	oa, err := vendorfake.StartOpenAI()
	if err != nil {
		return nil, fmt.Errorf("demo: start the OpenAI emulator: %w", err)
	}
	_, leaked := oa.AddKey("proj_demo", "printed-by-a-test", false)
	_ = oa.Close()
	token, err := fakeKey("ghs_", 36) // a fresh fake token: the canary checks it too
	if err != nil {
		return nil, err
	}
	gh, err := githubfake.Start("", token)
	if err != nil {
		return nil, fmt.Errorf("demo: start the GitHub emulator: %w", err)
	}
	defer func() { _ = gh.Close() }()
	repo := gh.AddRepo("demo", "app", "main")
	gh.Lock()
	repo.Files["main"][".github/workflows/eval.yml"] = []byte(demoAuditWorkflow)
	repo.Secrets = []string{"OPENAI_API_KEY"}
	repo.Runs = []int64{1}
	repo.Jobs[1] = []int64{11}
	repo.Logs[11] = []byte("2026-12-01T10:00:00Z debug: client config api_key=" + leaked + "\n")
	gh.Unlock()
	keys := []secret.Value{secret.FromString(leaked), secret.FromString(token)}
	vars := map[string]string{"GITHUB_API_URL": gh.APIURL(), "GITHUB_TOKEN": token, "GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}
	genv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}
	reportPath := filepath.Join(d.dir, "audit.json")
	start := time.Now()
	rep, code, aerr := lifecycle.RunAudit(ctx, lifecycle.AuditOptions{
		Lease: lease.Options{RegistryPath: filepath.Join(d.dir, "rotate-registry.yaml"), PolicyPath: filepath.Join(d.dir, "rotate-policy.json"),
			Env: "admin", RoleARN: d.stack.RoleARN, OIDCIssuer: genv("KEYLEASE_OIDC_ISSUER"), Identity: lease.IdentityOIDC, Version: version},
		Repos:   []string{"demo/app"},
		Outputs: lifecycle.AuditOutputs{ReportPath: reportPath, FailOn: auditreport.High, Version: version},
	}, lease.IO{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: genv, Environ: func() []string { return nil }})
	took := time.Since(start)
	if aerr != nil {
		check(false, "audit failed: %s", aerr)
		return keys, nil
	}
	got := map[string]int{}
	for _, f := range rep.Findings {
		got[f.ID]++
	}
	check(got[auditreport.LeakInLogs] == 1 && got[auditreport.SecretExposedToSteps] == 1 && got[auditreport.VendorKeyInGitHub] == 1 && len(rep.Findings) == 3,
		"the audit found the key printed in the job log, the secret handed to a step and the vendor key kept as an Actions secret (3 findings, nothing else)")
	check(code == auditreport.ExitLeak, "keylease audit exits 4 on a leak (got %d)", code)
	check(len(rep.Unreached) == 0 && len(rep.Skipped) == 0, "nothing unreached or skipped (%d, %d)", len(rep.Unreached), len(rep.Skipped))
	fmt.Fprintf(out, "  audited %d registry entries and %d repository in %s; report %s\n", len(rep.Entries), len(rep.Repos), took.Round(time.Millisecond), reportPath)
	return keys, nil
}
