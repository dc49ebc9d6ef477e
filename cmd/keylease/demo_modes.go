package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

func init() {
	register(&command{name: demoModesChildCmd, summary: "(internal) the demo's lease-modes child command", run: runDemoModesChild})
}

const demoModesChildCmd = "__demo-modes-child"

const demoModesRegistry = `# keylease demo registry: one entry of each lease mode (refs and ids only)
openai:
  ci:                              # stored: a Secrets Manager value
    secret_ref: "aws-sm://demo/openai/ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
xai:
  admin:
    secret_ref: "aws-sm://demo/xai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin                    # keylease's own; never leased to a command
  ci:                              # minted: a fresh key per lease, deleted at its end
    mode: minted
    admin: admin
    project_id: "team-demo"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
anthropic:
  ci:                              # federated: the job's OIDC token exchanged at the vendor
    mode: federated
    federation:
      organization_id: "org_demo"
      rule_id: "fdrl_demo"
      service_account_id: "svac_demo"
      audience: "https://api.anthropic.com"
    scope: ["llm:messages"]
    max_ttl_seconds: 300
`

const demoModesPolicy = `{
  "version": 1,
  "allowed_secrets": ["openai", "anthropic", "xai"],
  "required_prefix": {"openai": "sk-", "anthropic": "sk-ant-", "xai": "xai-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "admin": 300, "ci": 900}
}
`

// demoModesVars is what the modes child checks, and at which vendor.
var demoModesVars = []struct{ name, kind string }{
	{"OPENAI_API_KEY", "openai"}, {"XAI_API_KEY", "xai"}, {"ANTHROPIC_AUTH_TOKEN", "anthropic-oauth"},
}

// demoModes leases one key of each mode in one exec (stored OpenAI, minted
// xAI, federated Anthropic) on the vendor emulators, through the same
// lease.Run as `keylease exec`. It returns the keys it knows (the stored key
// and the admin key) for the demo's canary; the minted and federated values
// are never known to the demo, so the canary also runs the vendor detectors
// over this part's output.
func demoModes(ctx context.Context, d *demoSetup, getenv func(string) string, out, runnerLog *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== lease modes: stored, minted and federated in one exec ==")
	oa, err := vendorfake.StartOpenAI()
	if err != nil {
		return nil, fmt.Errorf("demo: start the OpenAI emulator: %w", err)
	}
	defer func() { _ = oa.Close() }()
	xa, err := vendorfake.StartXAI()
	if err != nil {
		return nil, fmt.Errorf("demo: start the xAI emulator: %w", err)
	}
	defer func() { _ = xa.Close() }()
	an, err := vendorfake.StartAnthropic()
	if err != nil {
		return nil, fmt.Errorf("demo: start the Anthropic emulator: %w", err)
	}
	defer func() { _ = an.Close() }()
	xa.PropagationPolls, xa.StrictPropagation = 2, true
	an.SetFederation("fdrl_demo", "org_demo", "svac_demo", vendorfake.FederationRule{Issuer: d.stack.OIDC.Issuer(), Audience: "https://api.anthropic.com"})
	_, stored := oa.AddKey("proj_demo", "ci", false)
	mgmt := xa.AddManagementKey()
	keys := []secret.Value{secret.FromString(stored), secret.FromString(mgmt)}
	d.stack.SM.Put(d.stack.Region, "demo/openai/ci", smfake.Value{String: stored})
	d.stack.SM.Put(d.stack.Region, "demo/xai/admin", smfake.Value{String: mgmt})
	urls := map[string]string{"OPENAI_BASE_URL": oa.BaseURL(), "XAI_BASE_URL": xa.BaseURL(), "XAI_MANAGEMENT_URL": xa.URL(),
		"ANTHROPIC_BASE_URL": an.URL(), "RUNNER_TEMP": filepath.Join(d.dir, "modes")}
	genv := func(k string) string {
		if v, ok := urls[k]; ok {
			return v
		}
		return getenv(k)
	}
	childEnv := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range urls {
		childEnv = append(childEnv, k+"="+v)
	}
	reg, pol := filepath.Join(d.dir, "modes-registry.yaml"), filepath.Join(d.dir, "modes-policy.json")
	if err := errors.Join(os.WriteFile(reg, []byte(demoModesRegistry), 0o600), os.WriteFile(pol, []byte(demoModesPolicy), 0o600)); err != nil {
		return keys, err
	}
	self, err := os.Executable()
	if err != nil {
		return keys, fmt.Errorf("demo: locate the keylease binary for the child: %w", err)
	}
	d.stack.SM.Faults.ResetCounts()
	part := &capture{w: out}
	start := time.Now()
	res, lerr := lease.Run(ctx, lease.Options{
		RegistryPath: reg, PolicyPath: pol, Env: "ci", Vendors: []string{"openai", "xai", "anthropic"},
		RoleARN: d.stack.RoleARN, OIDCIssuer: genv("KEYLEASE_OIDC_ISSUER"), Identity: lease.IdentityOIDC,
		Command: []string{self, demoModesChildCmd}, Version: version,
	}, lease.IO{Stdin: strings.NewReader(""), Stdout: part, Stderr: part, Commands: runnerLog, Getenv: genv,
		Environ: func() []string { return childEnv }})
	took := time.Since(start)
	if lerr != nil {
		check(false, "the lease of three modes failed: %s", lerr)
		return keys, nil
	}
	printed := part.bytes()
	for _, v := range demoModesVars {
		check(strings.Contains(string(printed), v.name+" valid at the vendor"), "the command's %s worked at the vendor during the lease", v.name)
	}
	check(xa.Keys("team-demo") == 0, "the minted xAI key was deleted when the lease ended (%d left)", xa.Keys("team-demo"))
	check(xa.Faults.Counts()[vendorfake.OpXAIPropagation] >= 2, "the xAI key was handed out only after the propagation check said live")
	check(!strings.Contains(string(printed), "admin key present"), "the admin key was not in the command's environment")
	ex := an.Exchanged()
	check(len(ex) == 1 && ex[0].Accepted && len(ex[0].Audience) == 1 && ex[0].Audience[0] == "https://api.anthropic.com",
		"Anthropic verified one OIDC token for the rule's audience (sub %s)", subjectOf(ex))
	if res.Record != nil {
		for _, l := range res.Record.Leases {
			fmt.Fprintf(out, "  %-22s mode %-9s %s\n", l.EnvVar, modeName(l.Mode), modeDetail(l))
		}
	}
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	check(len(sc.Scan(printed)) == 0, "no vendor-shaped key in this part's output (the minted and federated values included)")
	fmt.Fprintf(out, "  calls: %d Secrets Manager (the stored key and the xAI admin key, one batch), %d xAI, %d Anthropic; %s wall\n",
		sumCounts(d.stack.SM.Faults.Counts()), sumCounts(xa.Faults.Counts()), sumCounts(an.Faults.Counts()), took.Round(time.Millisecond))
	return keys, nil
}

func subjectOf(ex []vendorfake.Exchanged) string {
	if len(ex) == 0 {
		return "none"
	}
	return ex[0].Subject
}

func modeName(m string) string {
	if m == "" {
		return "stored"
	}
	return m
}

// modeDetail is what the record says about a lease: ids and times only.
func modeDetail(l record.Lease) string {
	switch l.Mode {
	case "minted":
		return fmt.Sprintf("key %s, named %s, deleted %s", l.VendorID, l.MintedName, l.DeletedAt.Format(time.RFC3339))
	case "federated":
		return fmt.Sprintf("token for %s, vendor expiry %s; nothing stored or minted", l.OIDCSubject, l.TokenExpiresAt.Format(time.RFC3339))
	}
	return "version " + l.VersionID
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// runDemoModesChild checks each leased variable at its (emulated) vendor and
// prints the verdict, the value's length and sha256 prefix, and the value
// itself once, which the redactor replaces.
func runDemoModesChild(ctx context.Context, _ []string, e *env) error {
	vo := vendorapi.Options{Getenv: e.getenv, MaxRetries: -1}
	for _, v := range demoModesVars {
		val := secret.FromString(e.getenv(v.name))
		var verdict vendorapi.Verdict
		switch v.kind {
		case "openai":
			c, err := vendorapi.NewOpenAI(vo)
			if err == nil {
				verdict, _ = c.Check(ctx, val)
			}
		case "xai":
			c, err := vendorapi.NewXAI(vo)
			if err == nil {
				verdict, _ = c.Check(ctx, val)
			}
		case "anthropic-oauth":
			c, err := vendorapi.NewAnthropic(vo)
			if err == nil {
				verdict, _ = c.CheckOAuth(ctx, val)
			}
		}
		sum := sha256.Sum256(val.Bytes())
		fmt.Fprintf(e.stdout, "child: %s %s at the vendor (%d bytes, sha256 %s); raw: %s\n", v.name, verdict, val.Len(), hex.EncodeToString(sum[:4]), val.Bytes())
	}
	for _, kv := range e.environ() {
		if strings.HasPrefix(kv, "XAI_API_KEY_ADMIN=") || strings.Contains(kv, "xai-token-") {
			fmt.Fprintln(e.stdout, "child: admin key present")
		}
	}
	return nil
}
