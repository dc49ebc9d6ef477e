package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

const demoRotateRegistry = `# keylease demo registry for rotation (refs only)
openai:
  admin:
    secret_ref: "aws-sm://demo/openai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin                    # keylease's own; never leased to a command
  ci:
    secret_ref: "aws-sm://demo/openai/ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-01-01       # overdue: ci rotates every 30 days
    rotation:
      method: mint
      admin: admin
      project_id: "proj_demo"
`

const demoRotatePolicy = `{
  "version": 1,
  "allowed_secrets": ["openai"],
  "required_prefix": {"openai": "sk-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "admin": 300, "ci": 900},
  "rotation_days": {"ci": 30}
}
`

// demoRotate rotates openai.ci on the emulators (a fake OpenAI admin and
// validity API, the demo's Secrets Manager): mint → test → promote → retire →
// registry → record, through the same lifecycle.RunRotate as `keylease
// rotate`. It returns every key it saw, for the demo's canary.
func demoRotate(ctx context.Context, d *demoSetup, getenv func(string) string, out, runnerLog *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== rotation (keylease rotate --vendor openai --env ci --retire-after 0) ==")
	v, err := demoOpenAI(ctx, d, getenv, "demo/openai/admin", "demo/openai/ci", "demo-initial")
	keys := v.keys
	if err != nil {
		return keys, err
	}
	defer func() { _ = v.oa.Close() }()
	oa, c, old, oldVID, genv := v.oa, v.check, v.key, v.vid, v.getenv
	reg, pol := filepath.Join(d.dir, "rotate-registry.yaml"), filepath.Join(d.dir, "rotate-policy.json")
	if err := os.WriteFile(reg, []byte(demoRotateRegistry), 0o600); err != nil {
		return keys, err
	}
	if err := os.WriteFile(pol, []byte(demoRotatePolicy), 0o600); err != nil {
		return keys, err
	}
	d.stack.SM.Faults.ResetCounts()
	oa.Faults.ResetCounts()
	start := time.Now()
	res, rerr := lifecycle.RunRotate(ctx, lifecycle.RotateOptions{
		Lease: lease.Options{RegistryPath: reg, PolicyPath: pol, Env: "ci", RoleARN: d.stack.RoleARN,
			OIDCIssuer: genv("KEYLEASE_OIDC_ISSUER"), Identity: lease.IdentityOIDC, Version: version},
		Vendor: "openai", Env: "ci", RegistryUpdate: lifecycle.UpdateWrite, RetireAfter: 0,
		RecordDir: filepath.Join(d.dir, "rotation"),
	}, lease.IO{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Commands: runnerLog, Getenv: genv, Environ: func() []string { return nil }})
	took := time.Since(start)
	// Every version's value joins the canary, the new key included.
	for id := range d.stack.SM.Stages(d.stack.Region, "demo/openai/ci") {
		if v, ok := d.stack.SM.Value(d.stack.Region, "demo/openai/ci", id); ok {
			keys = append(keys, secret.FromString(v.String))
			if st, derr := keyform.Decode(secret.FromString(v.String)); derr == nil {
				keys = append(keys, st.Key)
			}
		}
	}
	if rerr != nil {
		check(false, "rotation failed: %s", rerr)
		return keys, nil
	}
	// The rotation's calls, before the demo's own checks below add theirs.
	smCalls, vCalls := 0, 0
	for _, n := range d.stack.SM.Faults.Counts() {
		smCalls += n
	}
	for _, n := range oa.Faults.Counts() {
		vCalls += n
	}
	rec := res.Records[0]
	for _, s := range rec.Steps {
		fmt.Fprintf(out, "  %-8s %-7s %s\n", s.Name, s.Outcome, s.Detail)
	}
	stages := d.stack.SM.Stages(d.stack.Region, "demo/openai/ci")
	newCur := ""
	for id, st := range stages {
		if len(st) > 0 && st[0] == "AWSCURRENT" {
			newCur = id
		}
	}
	check(newCur != "" && newCur != oldVID && len(stages[oldVID]) == 1 && stages[oldVID][0] == "AWSPREVIOUS",
		"AWSCURRENT moved to the new version, the old one is AWSPREVIOUS")
	oldVerdict, _ := c.Check(ctx, old.Key)
	check(rec.Validity == "valid" && oldVerdict == vendorapi.Invalid && oa.ServiceAccounts("proj_demo") == 1,
		"the new key tested valid before promotion; the old key is retired at the vendor; exactly one key is live")
	regBytes, _ := os.ReadFile(reg) //nolint:gosec // the demo's own temp file
	check(strings.Contains(string(regBytes), "last_rotated: "+time.Now().UTC().Format(time.DateOnly)) && strings.Contains(string(regBytes), "# overdue"),
		"the registry's last_rotated is today, its comments kept")
	check(len(res.RecordPaths) == 1, "rotation record written (%s), sealed and scanned like the run record", recordName(res.RecordPaths))
	fmt.Fprintf(out, "  calls: %d Secrets Manager (1 of them the lease of the admin key), %d OpenAI; %s wall (session included)\n", smCalls, vCalls, took.Round(time.Millisecond))
	if len(res.RecordPaths) == 1 {
		b, _ := os.ReadFile(res.RecordPaths[0])
		fmt.Fprintf(out, "\n== rotation record (%s) ==\n", filepath.Base(res.RecordPaths[0]))
		_, _ = out.Write(b)
	}
	return keys, nil
}

func recordName(paths []string) string {
	if len(paths) == 0 {
		return "none"
	}
	return filepath.Base(paths[0])
}
