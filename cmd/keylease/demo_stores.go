package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
)

const demoStoresRegistry = `# keylease demo registry: a key still kept as a GitHub Actions secret
openai:
  ci:
    secret_ref: "env://DEMO_OPENAI_KEY"   # mapped by the workflow: env: {DEMO_OPENAI_KEY: ${{ secrets.OPENAI_API_KEY }}}
    scope: ["llm:chat"]
    max_ttl_seconds: 900
`

const demoStoresPolicy = `{
  "version": 1,
  "allowed_secrets": ["openai"],
  "required_prefix": {"openai": "sk-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "ci": 900},
  "backends": {"kv": {"type": "aws-secretsmanager"}, "env": {"environments": ["ci"]}}
}
`

// demoStores leases a key from an env:// ref, the migration path from
// GitHub Actions secrets, through the same lease.Run as `keylease exec`:
// the command gets it as OPENAI_API_KEY only (not under the variable the
// workflow mapped it to), masked like any lease, with no AWS session; the
// registry check names the entry transitional with the commands that move
// the key into Secrets Manager. It returns the key for the demo's canary.
func demoStores(ctx context.Context, d *demoSetup, getenv func(string) string, out, runnerLog *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== stores: a key from a GitHub secret (secret_ref: env://DEMO_OPENAI_KEY) ==")
	key, err := fakeKey("sk-proj-", 48)
	if err != nil {
		return nil, err
	}
	keys := []secret.Value{secret.FromString(key)}
	reg, pol := filepath.Join(d.dir, "stores-registry.yaml"), filepath.Join(d.dir, "stores-policy.json")
	for p, s := range map[string]string{reg: demoStoresRegistry, pol: demoStoresPolicy} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			return keys, err
		}
	}
	cfg, err := registry.Load(reg, pol)
	if err != nil {
		return keys, fmt.Errorf("demo: the stores registry: %w", err)
	}
	if e, ok := cfg.Registry.Entry("openai", "ci"); ok {
		note, transitional := registry.Transitional(e)
		check(transitional, "keylease check reports the entry as transitional (a long-lived key stored in GitHub)")
		fmt.Fprintf(out, "  check: %s\n", note)
	}
	vars := map[string]string{"DEMO_OPENAI_KEY": key, "RUNNER_TEMP": filepath.Join(d.dir, "stores")}
	genv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}
	self, err := os.Executable()
	if err != nil {
		return keys, fmt.Errorf("demo: locate the keylease binary for the child: %w", err)
	}
	part := &capture{w: out}
	res, lerr := lease.Run(ctx, lease.Options{RegistryPath: reg, PolicyPath: pol, Env: "ci", Vendors: []string{"openai"},
		Identity: lease.IdentityOIDC, OIDCIssuer: genv("KEYLEASE_OIDC_ISSUER"), Command: []string{self, demoChildCmd}, Version: version},
		lease.IO{Stdin: strings.NewReader(""), Stdout: part, Stderr: part, Commands: runnerLog, Getenv: genv,
			Environ: func() []string { return []string{"PATH=" + os.Getenv("PATH"), "DEMO_OPENAI_KEY=" + key} }})
	if lerr != nil {
		check(false, "the env:// lease failed: %s", lerr)
		return keys, nil
	}
	sum := sha256.Sum256([]byte(key))
	printed := string(part.bytes())
	check(strings.Contains(printed, fmt.Sprintf("received OPENAI_API_KEY: %d bytes, sha256 %s", len(key), hex.EncodeToString(sum[:4]))),
		"the command received the key as OPENAI_API_KEY")
	check(!strings.Contains(printed, key), "the command's careless prints of it are masked")
	if res != nil && res.Record != nil && len(res.Record.Leases) == 1 {
		l := res.Record.Leases[0]
		check(l.Source == "env" && l.Ref == "env://DEMO_OPENAI_KEY", "the run record says source env, ref env://DEMO_OPENAI_KEY")
		check(res.Record.Session != nil && res.Record.Session.Source == "none", "no AWS session was needed (aws_session.source: none)")
	} else {
		check(false, "no run record for the env:// lease")
	}
	return keys, nil
}
