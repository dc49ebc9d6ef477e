package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestParseStoreRefs(t *testing.T) {
	t.Parallel()
	good := []struct {
		raw  string
		want Ref
	}{
		{"env://OPENAI_CI_KEY", Ref{Scheme: "env", SecretID: "OPENAI_CI_KEY"}},
		{"vault://secret/openai/ci#api_key", Ref{Scheme: "vault", Mount: "secret", SecretID: "openai/ci", JSONKey: "api_key"}},
		{"op://CI Keys/OpenAI/credential", Ref{Scheme: "op", SecretID: "CI Keys/OpenAI/credential"}},
		{"op://ci/openai/api/credential", Ref{Scheme: "op", SecretID: "ci/openai/api/credential"}},
		{"keychain://keylease.openai/dev", Ref{Scheme: "keychain", SecretID: "keylease.openai", Account: "dev"}},
	}
	for _, g := range good {
		got, err := ParseRef(g.raw, nil)
		g.want.Raw = g.raw
		if err != nil || got != g.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", g.raw, got, err, g.want)
		}
		if got.Store() != g.want.Scheme {
			t.Errorf("%s: Store() = %s", g.raw, got.Store())
		}
	}
	bad := []struct{ raw, want string }{
		{"env://", "is not env://NAME"},
		{"env://1ABC", "is not env://NAME"},
		{"env://A-B", "is not env://NAME"},
		{"env://AWS_SECRET_ACCESS_KEY", "(AWS_*), which is never leased"},
		{"env://actions_id_token_request_token", "(ACTIONS_*)"},
		{"env://KEYLEASE_SECRETS_ENV", "(KEYLEASE_*)"},
		{"env://OP_SERVICE_ACCOUNT_TOKEN", "(OP_*)"},
		{"env://VAULT_TOKEN", "(VAULT_*)"},
		{"vault://secret/openai", "needs #FIELD"},
		{"vault://secret#k", "needs a mount and a path"},
		{"vault://secret//x#k", "empty, . or .. segment"},
		{"vault://secret/../sys#k", "empty, . or .. segment"},
		{"vault://secret/x#a b", "needs #FIELD"},
		{"op://vault/item", "is not op://VAULT/ITEM/FIELD"},
		{"op://a/b/c/d/e", "is not op://VAULT/ITEM/FIELD"},
		{"op://a/b/c?attribute=otp", "has a query"},
		{"op://a/ b/c", "has a name outside"},
		{"op://a//c", "has a name outside"},
		{"keychain://svc", "is not keychain://SERVICE/ACCOUNT"},
		{"keychain://svc/a/b", "is not keychain://SERVICE/ACCOUNT"},
	}
	for _, b := range bad {
		_, err := ParseRef(b.raw, nil)
		var re *RefError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), b.want) || re.Ref != unparsedRef {
			t.Errorf("ParseRef(%q) = %v; want a RefError with %q that does not quote the ref", b.raw, err, b.want)
		}
	}
}

// Two refs of different stores never name the same secret, whatever their
// names (kv://X and env://X both have SecretID X).
func TestSameSecretAcrossStores(t *testing.T) {
	t.Parallel()
	kv, _ := ParseRef("kv://OPENAI_CI_KEY", nil)
	env, _ := ParseRef("env://OPENAI_CI_KEY", nil)
	if sameSecret(kv, env) {
		t.Error("kv:// and env:// refs with one name are the same secret")
	}
	a, _ := ParseRef("vault://a/x#k", nil)
	b, _ := ParseRef("vault://b/x#k", nil)
	if sameSecret(a, b) || !sameSecret(a, a) {
		t.Error("vault refs compared by path alone")
	}
}

// A ref that differs from an admin entry's only in case names the same
// value where the store ignores case (env:// on Windows, op:// always), so
// it is refused as the admin entry is.
func TestAdminRefCaseInsensitive(t *testing.T) {
	t.Parallel()
	reg := "openai:\n  admin:\n    secret_ref: \"env://OPENAI_ADMIN_KEY\"\n    scope: [admin]\n    max_ttl_seconds: 300\n    role: admin\n" +
		"  dev:\n    secret_ref: \"op://Keys/OpenAI Admin/credential\"\n    scope: [admin]\n    max_ttl_seconds: 300\n    role: admin\n"
	pol := strings.Replace(storesPolicy, `"env": {"environments": ["ci"]}`, `"env": {"environments": ["ci", "admin"]}, "op": {"environments": ["ci", "dev"]}`, 1)
	pol = strings.Replace(pol, `"flags": {`, `"ttl_caps_seconds": {"admin": 300, "ci": 900, "dev": 900}, "flags": {`, 1)
	cfg, err := Parse("r.yaml", []byte(reg), "p.json", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"env://openai_admin_key", "env://OpenAI_Admin_Key", "op://keys/openai admin/CREDENTIAL"} {
		var re *RefusedError
		if _, err := cfg.ResolveRef("OPENAI_API_KEY", ref, "ci"); !errors.As(err, &re) || re.Reason != ReasonAdmin {
			t.Errorf("ResolveRef(%s) = %v; want the admin refusal", ref, err)
		}
	}
}

const storesPolicy = `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
 "flags": {"no_logging": true, "no_persistence": true},
 "backends": {"kv": {"type": "aws-secretsmanager"}, "env": {"environments": ["ci"]},
  "vault": {"environments": ["ci", "prod"], "role": "keylease-ci"}, "keychain": {"environments": ["local"]}}}`

func storeEntry(env, ref string) string {
	return "openai:\n  " + env + ":\n    secret_ref: \"" + ref + "\"\n    scope: [llm:chat]\n    max_ttl_seconds: 300\n"
}

// check (Load) refuses a store in an environment the policy does not list
// for it, and keychain:// anywhere but local; Resolve refuses the same at
// lease time for a hand-built config.
func TestStoreEnvironments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env, ref, policy, want string
	}{
		{"ci", "env://OPENAI_CI_KEY", storesPolicy, ""},
		{"prod", "env://OPENAI_CI_KEY", storesPolicy, "r.yaml:3:5: openai.prod.secret_ref: the policy does not allow env:// refs in prod; add prod to backends.env.environments"},
		{"ci", "keychain://keylease/openai", storesPolicy, "r.yaml:3:5: openai.ci.secret_ref: keychain:// refs are for local runs only (--env local), not ci"},
		{"local", "keychain://keylease/openai", storesPolicy, ""},
		{"prod", "vault://secret/openai/prod#api_key", storesPolicy, ""},
		{"ci", "op://ci/openai/credential", storesPolicy, "does not allow op:// refs in ci; add ci to backends.op.environments"},
		{"ci", "env://OPENAI_CI_KEY", seedPolicy + "}", "does not allow env:// refs in ci"},
		{"local", "keychain://keylease/openai", strings.Replace(storesPolicy, `"keychain": {"environments": ["local"]}`, `"keychain": {"environments": ["local", "ci"]}`, 1),
			"backends.keychain.environments: lists ci, but keychain:// is for local runs only"},
		{"ci", "vault://secret/openai/ci#api_key", strings.Replace(storesPolicy, `, "role": "keylease-ci"`, "", 1), "backends.vault: missing required key role"},
	}
	// Rotation writes to Secrets Manager: a rotated entry of another store
	// is refused (rotate would take its name for a Secrets Manager one).
	rotated := "openai:\n  admin:\n    secret_ref: kv://openai/admin\n    scope: [a]\n    max_ttl_seconds: 300\n    role: admin\n" +
		"  ci:\n    secret_ref: env://OPENAI_CI_KEY\n    scope: [a]\n    max_ttl_seconds: 300\n    rotation: {method: mint, admin: admin}\n"
	pol := strings.Replace(storesPolicy, `"ttl_caps_seconds"`, `"x"`, 1)
	pol = strings.Replace(pol, `"flags": {`, `"ttl_caps_seconds": {"admin": 300, "ci": 900}, "flags": {`, 1)
	if _, err := Parse("r.yaml", []byte(rotated), "p.json", []byte(pol)); err == nil || !strings.Contains(err.Error(), "r.yaml:11:5: openai.ci.rotation: rotation writes new versions to Secrets Manager, and secret_ref names env://") {
		t.Errorf("a rotated env:// entry: %v", err)
	}
	for _, c := range cases {
		_, err := Parse("r.yaml", []byte(storeEntry(c.env, c.ref)), "p.json", []byte(c.policy))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s in %s: %v", c.ref, c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s in %s: got %v, want %q", c.ref, c.env, err, c.want)
		}
	}
	// At lease time: an unregistered --ref of a store the environment may
	// not read is a refusal (exit 3), not a lease.
	cfg, err := Parse("r.yaml", []byte(storeEntry("ci", "env://OPENAI_CI_KEY")), "p.json", []byte(storesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, env string }{{"env://OTHER_KEY", "prod"}, {"keychain://s/a", "ci"}, {"op://a/b/c", "ci"}} {
		_, err := cfg.ResolveRef("OPENAI_API_KEY", tc.ref, tc.env)
		var re *RefusedError
		if !errors.As(err, &re) || re.Reason != ReasonStore {
			t.Errorf("ResolveRef(%s, %s) = %v; want a store refusal", tc.ref, tc.env, err)
		}
	}
	if s, err := cfg.Resolve("openai", "ci"); err != nil || s.Ref.Store() != StoreEnv {
		t.Errorf("Resolve(openai, ci) = %+v, %v", s, err)
	}
	b, _ := cfg.Policy.Store(StoreVault)
	if b.Role != "keylease-ci" || b.AuthMount != DefaultVaultAuthMount || b.Audience != DefaultVaultAudience {
		t.Errorf("vault backend %+v: want the role and the default mount and audience", b)
	}
}

func TestTransitional(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("r.yaml", []byte(storeEntry("ci", "env://OPENAI_CI_KEY")), "p.json", []byte(storesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := cfg.Registry.Entry("openai", "ci")
	note, ok := Transitional(e)
	for _, want := range []string{"transitional: openai.ci", "${{ secrets.OPENAI_CI_KEY }}",
		`aws secretsmanager create-secret --name openai/ci/api_key --secret-string "$OPENAI_CI_KEY"`, "secret_ref: kv://openai/ci/api_key", "gh secret delete OPENAI_CI_KEY"} {
		if !ok || !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	kv, _ := ParseRef("kv://openai/ci/api_key", nil)
	if _, ok := Transitional(&Entry{Vendor: "openai", Env: "ci", Ref: kv}); ok {
		t.Error("a kv:// entry is transitional")
	}
}

// The workflow lint refuses a step's ref whose store its environment may
// not read, as check does for the registry.
func TestWorkflowStoreRefs(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("r.yaml", []byte(storeEntry("ci", "env://OPENAI_CI_KEY")), "p.json", []byte(storesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	wf := func(env string) []byte {
		return []byte("on: push\npermissions:\n  id-token: write\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n" +
			"      - uses: keylease/keylease@" + strings.Repeat("a", 40) + "\n        with:\n          environment: " + env +
			"\n          refs: |\n            OPENAI_API_KEY=env://OPENAI_CI_KEY\n          run: make test\n")
	}
	has := func(ps Problems, s string) bool {
		for _, p := range ps {
			if strings.Contains(p.String(), s) {
				return true
			}
		}
		return false
	}
	if ps := CheckWorkflow("ci.yml", wf("prod"), cfg); !has(ps, "ci.yml:11:11: jobs.test.steps[0].with.refs: ref env://OPENAI_CI_KEY: the policy does not allow env:// refs in prod") {
		t.Errorf("an env:// ref in prod passes the lint: %v", ps)
	}
	if ps := CheckWorkflow("ci.yml", wf("ci"), cfg); has(ps, "does not allow") {
		t.Errorf("an env:// ref in ci is refused: %v", ps)
	}
}

// A minted entry's admin key is read during the minted entry's lease: its
// store must be allowed in that environment too, not only in the admin
// entry's own. Otherwise a keychain:// admin entry named local would be read
// by a CI lease of a minted entry, and an env:// one in an environment the
// policy never listed for env://.
func TestAdminStoreInLeaseEnvironment(t *testing.T) {
	t.Parallel()
	minted := func(adminEnv, adminRef, env string) string {
		return "openai:\n  " + adminEnv + ":\n    secret_ref: \"" + adminRef + "\"\n    scope: [admin]\n    max_ttl_seconds: 300\n    role: admin\n" +
			"  " + env + ":\n    mode: minted\n    admin: " + adminEnv + "\n    project_id: proj_1\n    scope: [llm:chat]\n    max_ttl_seconds: 300\n"
	}
	envPolicy := func(envs string) string {
		p := strings.Replace(storesPolicy, `"env": {"environments": ["ci"]}`, `"env": {"environments": [`+envs+`]}`, 1)
		return strings.Replace(p, `"flags": {`, `"ttl_caps_seconds": {"admin": 300, "local": 3600, "ci": 900, "eval": 900}, "flags": {`, 1)
	}
	cases := []struct{ name, reg, policy, want string }{
		{"keychain admin of a ci lease", minted("local", "keychain://keylease/openai-admin", "ci"), envPolicy(`"ci"`),
			"r.yaml:9:5: openai.ci.admin: its admin key (openai.local, keychain://keylease/openai-admin) is read during this lease: keychain:// refs are for local runs only (--env local), not ci"},
		{"env admin outside env's environments", minted("admin", "env://OPENAI_ADMIN_KEY", "eval"), envPolicy(`"admin"`),
			"r.yaml:9:5: openai.eval.admin: its admin key (openai.admin, env://OPENAI_ADMIN_KEY) is read during this lease: the policy does not allow env:// refs in eval"},
		{"env admin allowed in both", minted("admin", "env://OPENAI_ADMIN_KEY", "eval"), envPolicy(`"admin", "eval"`), ""},
		{"secrets manager admin", minted("admin", "kv://openai/admin", "eval"), envPolicy(`"ci"`), ""},
	}
	for _, c := range cases {
		_, err := Parse("r.yaml", []byte(c.reg), "p.json", []byte(c.policy))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Resolve refuses the same on a config whose policy changed after the
	// check (or was built by hand).
	cfg, err := Parse("r.yaml", []byte(minted("admin", "env://OPENAI_ADMIN_KEY", "eval")), "p.json", []byte(envPolicy(`"admin", "eval"`)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Backends.Stores[StoreEnv] = StoreBackend{Environments: []string{"admin"}}
	var re *RefusedError
	if _, err := cfg.Resolve("openai", "eval"); !errors.As(err, &re) || re.Reason != ReasonStore || !strings.Contains(re.Hint, "admin key (openai.admin, env://OPENAI_ADMIN_KEY)") {
		t.Errorf("Resolve(openai, eval) = %v; want a store refusal naming the admin entry", err)
	}
}

func TestVaultAudienceNotAWS(t *testing.T) {
	t.Parallel()
	pol := strings.Replace(storesPolicy, `"role": "keylease-ci"`, `"role": "keylease-ci", "audience": "sts.amazonaws.com"`, 1)
	if _, err := Parse("r.yaml", []byte(storeEntry("ci", "vault://secret/openai/ci#api_key")), "p.json", []byte(pol)); err == nil ||
		!strings.Contains(err.Error(), "backends.vault.audience: is AWS STS's audience") {
		t.Errorf("vault audience sts.amazonaws.com: %v", err)
	}
}
