package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

const demoRevokeRegistry = `# keylease demo registry for revocation (refs only)
openai:
  admin:
    secret_ref: "aws-sm://demo/openai/revoke-admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "aws-sm://demo/openai/revoke-ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    rotation:
      method: mint
      admin: admin
      project_id: "proj_demo"
`

// demoRevoke revokes openai.ci on the emulators through the same
// lifecycle.RunRevoke as `keylease revoke` (the service account deleted at
// the vendor, verified invalid, a tombstone as AWSCURRENT, the registry
// revoked), then leases the entry with the registry as it was before: the
// lease is refused, exit 3, "revoked on …". It returns every key it saw,
// for the demo's canary.
func demoRevoke(ctx context.Context, d *demoSetup, getenv func(string) string, out, runnerLog *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== revocation (keylease revoke --vendor openai --env ci --reason suspected-leak) ==")
	oa, err := vendorfake.StartOpenAI()
	if err != nil {
		return nil, fmt.Errorf("demo: start the OpenAI emulator: %w", err)
	}
	defer func() { _ = oa.Close() }()
	vars := map[string]string{"OPENAI_BASE_URL": oa.BaseURL(), "GITHUB_ACTIONS": ""}
	genv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}
	admin := oa.AddAdminKey()
	keys := []secret.Value{secret.FromString(admin)}
	d.stack.SM.Put(d.stack.Region, "demo/openai/revoke-admin", smfake.Value{String: admin})
	c, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: genv})
	if err != nil {
		return keys, err
	}
	k, err := c.Project(secret.FromString(admin), "proj_demo").Mint(ctx, "demo-leaked")
	if err != nil {
		return keys, fmt.Errorf("demo: mint the key: %w", err)
	}
	keys = append(keys, k.Key)
	form, err := keyform.Encode(k.Key, k.KeyID, map[string]string{"retire_id": k.ID})
	if err != nil {
		return keys, err
	}
	keys = append(keys, form)
	_, vid := d.stack.SM.Put(d.stack.Region, "demo/openai/revoke-ci", smfake.Value{String: string(form.Bytes())})
	reg, stale, pol := filepath.Join(d.dir, "revoke-registry.yaml"), filepath.Join(d.dir, "revoke-registry-stale.yaml"), filepath.Join(d.dir, "revoke-policy.json")
	for p, s := range map[string]string{reg: demoRevokeRegistry, stale: demoRevokeRegistry, pol: demoRotatePolicy} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			return keys, err
		}
	}
	pio := lease.IO{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Commands: runnerLog, Getenv: genv, Environ: func() []string { return nil }}
	session := lease.Options{RegistryPath: reg, PolicyPath: pol, Env: "ci", RoleARN: d.stack.RoleARN,
		OIDCIssuer: genv("KEYLEASE_OIDC_ISSUER"), Identity: lease.IdentityOIDC, Version: version}
	res, rerr := lifecycle.RunRevoke(ctx, lifecycle.RevokeOptions{Lease: session, Vendor: "openai", Env: "ci", Reason: "suspected-leak",
		RegistryUpdate: lifecycle.UpdateWrite, RecordDir: filepath.Join(d.dir, "revocation")}, pio)
	if rerr != nil || res == nil {
		check(false, "revocation failed: %v", rerr)
		return keys, nil
	}
	for _, s := range res.Record.Steps {
		fmt.Fprintf(out, "  %-10s %-7s %s\n", s.Name, s.Outcome, s.Detail)
	}
	verdict, _ := c.Check(ctx, k.Key)
	check(verdict == vendorapi.Invalid && oa.ServiceAccounts("proj_demo") == 0, "the key's service account is deleted at the vendor, which now says invalid")
	cur := ""
	for id, st := range d.stack.SM.Stages(d.stack.Region, "demo/openai/revoke-ci") {
		if len(st) > 0 && st[0] == "AWSCURRENT" {
			cur = id
		}
	}
	tomb, _ := d.stack.SM.Value(d.stack.Region, "demo/openai/revoke-ci", cur)
	_, isTomb := keyform.ParseTombstone([]byte(tomb.String))
	check(isTomb && len(d.stack.SM.Stages(d.stack.Region, "demo/openai/revoke-ci")[vid]) == 0, "AWSCURRENT is a value-free tombstone; the revoked version keeps no label")
	regBytes, _ := os.ReadFile(reg) //nolint:gosec // the demo's own temp file
	check(strings.Contains(string(regBytes), "revoked: true"), "the registry says revoked: true, with revoked_at")

	fmt.Fprintln(out, "\n== lease after the revocation, with the registry as it was (keylease exec --vendor openai) ==")
	self, err := os.Executable()
	if err != nil {
		return keys, err
	}
	lo := session
	lo.RegistryPath, lo.Vendors, lo.Command = stale, []string{"openai"}, []string{self, demoChildCmd}
	_, lerr := lease.Run(ctx, lo, pio)
	var le *lease.Error
	msg := ""
	if lerr != nil {
		msg = lerr.Error()
		fmt.Fprintf(out, "  keylease: %s\n", msg)
	}
	check(errors.As(lerr, &le) && le.Code == exitLease && strings.Contains(msg, "revoked on "), "the lease is refused with exit 3, \"revoked on … (suspected-leak)\", although the registry does not say revoked")
	return keys, nil
}
