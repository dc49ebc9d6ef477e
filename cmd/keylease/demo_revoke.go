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

// demoMintRegistry is the registry of a lifecycle demo part: an OpenAI
// admin entry and a mint-rotated ci entry, in the secrets
// demo/openai/<part>-admin and demo/openai/<part>-ci.
func demoMintRegistry(part string) string {
	return `# keylease demo registry for the ` + part + ` (refs only)
openai:
  admin:
    secret_ref: "aws-sm://demo/openai/` + part + `-admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "aws-sm://demo/openai/` + part + `-ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    rotation:
      method: mint
      admin: admin
      project_id: "proj_demo"
`
}

// demoRevoke revokes openai.ci on the emulators through the same
// lifecycle.RunRevoke as `keylease revoke` (the service account deleted at
// the vendor, verified invalid, a tombstone as AWSCURRENT, the registry
// revoked), then leases the entry with the registry as it was before: the
// lease is refused, exit 3, "revoked on …". It returns every key it saw,
// for the demo's canary.
func demoRevoke(ctx context.Context, d *demoSetup, getenv func(string) string, out, runnerLog *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== revocation (keylease revoke --vendor openai --env ci --reason suspected-leak) ==")
	o, err := demoOpenAI(ctx, d, getenv, "demo/openai/revoke-admin", "demo/openai/revoke-ci", "demo-leaked")
	keys := o.keys
	if err != nil {
		return keys, err
	}
	defer func() { _ = o.oa.Close() }()
	oa, c, k, vid, genv := o.oa, o.check, o.key, o.vid, o.getenv
	reg, stale, pol := filepath.Join(d.dir, "revoke-registry.yaml"), filepath.Join(d.dir, "revoke-registry-stale.yaml"), filepath.Join(d.dir, "revoke-policy.json")
	for p, s := range map[string]string{reg: demoMintRegistry("revoke"), stale: demoMintRegistry("revoke"), pol: demoRotatePolicy} {
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

// demoVendor is an OpenAI emulator with an admin key and a minted
// service-account key stored in the JSON form, as the rotation and
// revocation demos start from.
type demoVendor struct {
	oa     *vendorfake.OpenAI
	check  *vendorapi.OpenAI
	getenv func(string) string
	key    vendorapi.Minted
	vid    string         // the stored key's version
	keys   []secret.Value // every value, for the demo's canary
}

// demoOpenAI starts the emulator, stores its admin key under adminName and
// a key minted as name under ciName. The caller closes oa.
func demoOpenAI(ctx context.Context, d *demoSetup, getenv func(string) string, adminName, ciName, name string) (*demoVendor, error) {
	oa, err := vendorfake.StartOpenAI()
	if err != nil {
		return &demoVendor{}, fmt.Errorf("demo: start the OpenAI emulator: %w", err)
	}
	vars := map[string]string{"OPENAI_BASE_URL": oa.BaseURL(), "GITHUB_ACTIONS": ""}
	v := &demoVendor{oa: oa, getenv: func(k string) string {
		if val, ok := vars[k]; ok {
			return val
		}
		return getenv(k)
	}}
	admin := oa.AddAdminKey()
	v.keys = append(v.keys, secret.FromString(admin))
	d.stack.SM.Put(d.stack.Region, adminName, smfake.Value{String: admin})
	if v.check, err = vendorapi.NewOpenAI(vendorapi.Options{Getenv: v.getenv}); err != nil {
		_ = oa.Close()
		return v, err
	}
	if v.key, err = v.check.Project(secret.FromString(admin), "proj_demo").Mint(ctx, name); err != nil {
		_ = oa.Close()
		return v, fmt.Errorf("demo: mint the first key: %w", err)
	}
	v.keys = append(v.keys, v.key.Key)
	form, err := keyform.Encode(v.key.Key, v.key.KeyID, map[string]string{"retire_id": v.key.ID})
	if err != nil {
		_ = oa.Close()
		return v, err
	}
	v.keys = append(v.keys, form)
	_, v.vid = d.stack.SM.Put(d.stack.Region, ciName, smfake.Value{String: string(form.Bytes())})
	return v, nil
}
