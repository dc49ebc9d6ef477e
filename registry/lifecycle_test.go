package registry

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const lifecycleBase = `openai:
  admin:
    secret_ref: "aws-sm://openai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
`

func lifecyclePolicy(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtureDir + "ok-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	// An admin entry is an environment like any other: the policy caps it.
	return []byte(strings.Replace(string(b), `"local": 3600,`, `"local": 3600, "admin": 300, "eval": 900,`, 1))
}

// TestLifecycleRules: each rule between mode, role, admin and rotation is a
// problem at the offending key's line, and a valid lifecycle registry loads.
func TestLifecycleRules(t *testing.T) {
	t.Parallel()
	pol := lifecyclePolicy(t)
	tests := []struct {
		name      string
		entry     string // appended under openai:
		line      int
		field     string
		msgSubstr string
	}{
		{"stored needs a ref", "  ci:\n    scope: [a]\n    max_ttl_seconds: 60\n", 7, "openai.ci", "missing required key secret_ref"},
		{"minted needs admin", "  ci:\n    mode: minted\n    scope: [a]\n    max_ttl_seconds: 60\n", 7, "openai.ci", "needs admin"},
		{"minted needs project_id", "  ci:\n    mode: minted\n    admin: admin\n    scope: [a]\n    max_ttl_seconds: 60\n", 7, "openai.ci", "needs project_id"},
		{"minted has no ref", "  ci:\n    mode: minted\n    admin: admin\n    project_id: p\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n", 11, "openai.ci.secret_ref", "remove secret_ref"},
		{"federated needs federation", "  ci:\n    mode: federated\n    scope: [a]\n    max_ttl_seconds: 60\n", 7, "openai.ci", "needs federation"},
		{"federated has no admin", "  ci:\n    mode: federated\n    admin: admin\n    federation: {rule_id: r, service_account_id: s, audience: a}\n    scope: [a]\n    max_ttl_seconds: 60\n", 9, "openai.ci.admin", "remove admin"},
		{"federated has no ref", "  ci:\n    mode: federated\n    secret_ref: \"aws-sm://x/y\"\n    federation: {rule_id: r, service_account_id: s, audience: a}\n    scope: [a]\n    max_ttl_seconds: 60\n", 9, "openai.ci.secret_ref", "remove secret_ref"},
		{"rotation admin missing", "  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    rotation: {method: mint, admin: nosuch}\n", 11, "openai.ci.rotation", "has no entry"},
		{"rotation admin not admin", "  dev:\n    secret_ref: \"aws-sm://x/z\"\n    scope: [a]\n    max_ttl_seconds: 60\n  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    rotation: {method: mint, admin: dev}\n", 15, "openai.ci.rotation", "not an admin entry"},
		{"mint needs admin", "  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    rotation: {method: mint}\n", 11, "openai.ci.rotation", "needs rotation.admin"},
		{"bad method", "  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    rotation: {method: lambda}\n", 11, "openai.ci.rotation.method", ""},
		{"bad role", "  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    role: root\n", 11, "openai.ci.role", ""},
		{"typo in rotation", "  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    rotation: {method: staged, projectid: p}\n", 11, "openai.ci.rotation.projectid", "known keys: method, admin, project_id"},
		{"typo in entry", "  ci:\n    secret_ref: \"aws-sm://x/y\"\n    scope: [a]\n    max_ttl_seconds: 60\n    moed: minted\n", 11, "openai.ci.moed", "mode, admin, project_id, rotation, federation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("r.yaml", []byte(lifecycleBase+tc.entry), "p.json", pol)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("got %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Line == tc.line && p.Field == tc.field && strings.Contains(p.Msg, tc.msgSubstr) {
					return
				}
			}
			t.Fatalf("no problem at line %d field %s containing %q; got %v", tc.line, tc.field, tc.msgSubstr, ps)
		})
	}
}

func TestLifecycleFieldsLoad(t *testing.T) {
	t.Parallel()
	reg := lifecycleBase + `  ci:
    secret_ref: "aws-sm://openai/ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 60
    last_rotated: 2026-11-01
    revoked_at: 2026-10-01
    rotation: {method: mint, admin: admin, project_id: proj_abc}
  eval:
    mode: minted
    admin: admin
    project_id: proj_abc
    scope: ["llm:chat"]
    max_ttl_seconds: 60
  prod:
    mode: federated
    federation: {organization_id: org1, rule_id: fdrl_1, service_account_id: svac_1, audience: "https://api.openai.com"}
    scope: ["llm:chat"]
    max_ttl_seconds: 60
`
	c, err := Parse("r.yaml", []byte(reg), "p.json", lifecyclePolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := c.Registry.Entry("openai", "ci")
	if ci.Rotation == nil || *ci.Rotation != (Rotation{Method: MethodMint, Admin: "admin", ProjectID: "proj_abc"}) || ci.RevokedAt.IsZero() {
		t.Errorf("ci: rotation %+v revoked_at %v", ci.Rotation, ci.RevokedAt)
	}
	ev, _ := c.Registry.Entry("openai", "eval")
	if ev.Mode != ModeMinted || ev.Admin != "admin" || ev.ProjectID != "proj_abc" {
		t.Errorf("eval: %+v", ev)
	}
	pr, _ := c.Registry.Entry("openai", "prod")
	if pr.Federation == nil || pr.Federation.RuleID != "fdrl_1" || pr.Federation.Audience != "https://api.openai.com" {
		t.Errorf("prod federation %+v", pr.Federation)
	}
	// exec refuses the admin entry, by vendor and by ref; ResolveAdmin is
	// the one way to the admin key. Minted and federated entries resolve
	// with what their lease needs.
	var re *RefusedError
	if _, err := c.Resolve("openai", "admin"); !errors.As(err, &re) || re.Reason != ReasonAdmin {
		t.Errorf("Resolve(openai, admin) = %v, want the admin refusal", err)
	}
	if s, err := c.Resolve("openai", "eval"); err != nil || s.Mode != ModeMinted || s.Admin != "admin" || s.ProjectID != "proj_abc" || s.EnvVar != "OPENAI_API_KEY" {
		t.Errorf("Resolve(openai, eval) = %+v, %v", s, err)
	}
	if s, err := c.Resolve("openai", "prod"); err != nil || s.Mode != ModeFederated || s.Federation == nil || s.Federation.RuleID != "fdrl_1" {
		t.Errorf("Resolve(openai, prod) = %+v, %v", s, err)
	}
	if _, err := c.ResolveRef("X", "aws-sm://openai/admin", "admin"); !errors.As(err, &re) || re.Reason != ReasonAdmin {
		t.Errorf("ResolveRef of the admin secret = %v, want the admin refusal", err)
	}
	if _, err := c.ResolveRef("X", "aws-sm://openai/admin", "ci"); !errors.As(err, &re) || re.Reason != ReasonAdmin {
		t.Errorf("ResolveRef of the admin secret in another env = %v, want the admin refusal", err)
	}
	spec, err := c.ResolveAdmin("openai", "admin")
	if err != nil || spec.Ref.SecretID != "openai/admin" {
		t.Errorf("ResolveAdmin = %+v, %v", spec, err)
	}
	if _, err := c.ResolveAdmin("openai", "ci"); err == nil {
		t.Error("ResolveAdmin of a non-admin entry succeeded")
	}
}

// TestModeSupportTable: a mode its vendor does not support is a check
// problem at the mode's line, and the table says which vendors support it.
func TestModeSupportTable(t *testing.T) {
	t.Parallel()
	pol := lifecyclePolicy(t)
	tests := []struct {
		name, reg string
		line      int
		field     string
		msg       string
	}{
		{"anthropic minted", "anthropic:\n  admin:\n    secret_ref: \"aws-sm://a/admin\"\n    scope: [admin]\n    max_ttl_seconds: 300\n    role: admin\n  ci:\n    mode: minted\n    admin: admin\n    project_id: p\n    scope: [a]\n    max_ttl_seconds: 60\n",
			8, "anthropic.ci.mode", "minted: openai, xai"},
		{"xai federated", "xai:\n  ci:\n    mode: federated\n    federation: {rule_id: r, service_account_id: s, audience: a}\n    scope: [a]\n    max_ttl_seconds: 60\n",
			3, "xai.ci.mode", "federated: anthropic, openai"},
		{"anthropic federation without organization", "anthropic:\n  ci:\n    mode: federated\n    federation: {rule_id: r, service_account_id: s, audience: a}\n    scope: [a]\n    max_ttl_seconds: 60\n",
			4, "anthropic.ci.federation", "organization_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("r.yaml", []byte(tc.reg), "p.json", pol)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("got %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Line == tc.line && p.Field == tc.field && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("no problem at line %d field %s containing %q; got %v", tc.line, tc.field, tc.msg, ps)
		})
	}
	for _, c := range []struct {
		vendor, mode string
		ok           bool
	}{{"openai", ModeMinted, true}, {"xai", ModeMinted, true}, {"anthropic", ModeMinted, false},
		{"openai", ModeFederated, true}, {"anthropic", ModeFederated, true}, {"xai", ModeFederated, false},
		{"anything", ModeStored, true}, {"anything", "", true}} {
		if got := SupportsMode(c.vendor, c.mode); got != c.ok {
			t.Errorf("SupportsMode(%s, %s) = %v, want %v", c.vendor, c.mode, got, c.ok)
		}
	}
}

// TestFederationOwnAudience: a federation audience keylease logs in with
// itself is a check problem at the audience's line.
func TestFederationOwnAudience(t *testing.T) {
	t.Parallel()
	reg := func(aud string) string {
		return "openai:\n  prod:\n    mode: federated\n    federation:\n      rule_id: r\n      service_account_id: s\n      audience: \"" + aud + "\"\n    scope: [a]\n    max_ttl_seconds: 60\n"
	}
	if _, err := Parse("r.yaml", []byte(reg("sts.amazonaws.com")), "p.json", lifecyclePolicy(t)); err == nil ||
		!strings.Contains(err.Error(), "r.yaml:7:7: openai.prod.federation.audience: is AWS STS's audience") {
		t.Errorf("AWS audience: %v", err)
	}
	if _, err := Parse("r.yaml", []byte(reg("https://openai.example/keylease")), "p.json", lifecyclePolicy(t)); err != nil {
		t.Errorf("an audience of its own: %v", err)
	}
}
