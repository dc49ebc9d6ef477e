package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/internal/vaultfake"
	"github.com/keylease/keylease/record"
)

// The stores besides Secrets Manager, end to end through the real binary:
// the value reaches the child under the leased name only, every output and
// file passes the canary (r.run), and a store that fails is exit 3 with a
// message that names the ref.

func init() {
	// stores: the sha child, plus which of E2E_ABSENT it could see.
	e2eMoreModes["stores"] = func() int {
		var seen []string
		for _, k := range strings.Split(os.Getenv("E2E_ABSENT"), ",") {
			if _, ok := os.LookupEnv(k); ok && k != "" {
				seen = append(seen, k)
			}
		}
		_ = os.WriteFile(filepath.Join(os.Getenv("E2E_OUT"), "seen"), []byte(strings.Join(seen, ",")), 0o600)
		return e2eChild("sha")
	}
}

// storesE2E is an e2e world whose openai.ci entry reads ref, with a policy
// whose backends block is backends (JSON, without braces).
func storesE2E(t *testing.T, ref, backends string) *e2e {
	t.Helper()
	r := newE2E(t)
	testkit.WriteFile(t, filepath.Join(r.dir, "registry.yaml"), `openai:
  ci:
    secret_ref: "`+ref+`"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
`)
	testkit.WriteFile(t, filepath.Join(r.dir, "policy.json"), `{"version":1,"allowed_secrets":["openai"],
"required_prefix":{"openai":"sk-"},
"flags":{"no_logging":true,"no_persistence":true},
"ttl_caps_seconds":{"local":3600,"dev":3600,"ci":900,"prod":300},
"backends":{"kv":{"type":"aws-secretsmanager"},`+backends+`}}`)
	return r
}

// leasedUnseen asserts that the stores run res exited 0, that the child
// received the leased keys and that it saw none of the names it reports in
// its "seen" file; why, if set, says why those names must stay away.
func (r *e2e) leasedUnseen(res e2eResult, why string) {
	r.t.Helper()
	if res.code != 0 {
		r.t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	r.received()
	if seen, _ := os.ReadFile(filepath.Join(r.out, "seen")); len(seen) != 0 {
		if why != "" {
			r.t.Errorf("the child saw %s: %s", seen, why)
		} else {
			r.t.Errorf("the child saw %s", seen)
		}
	}
}

// masked asserts the child's careless print of OPENAI_API_KEY was masked.
func (r *e2e) masked(res e2eResult) {
	r.t.Helper()
	if !bytes.Contains(res.stdout, []byte("OPENAI_API_KEY=***")) {
		r.t.Errorf("the child's careless print was not masked:\n%s", res.stdout)
	}
}

// newKey is a fresh well-formed OpenAI-shaped key, remembered for the canary
// and for received() under OPENAI_API_KEY.
func (r *e2e) newKey() string {
	r.t.Helper()
	k, err := fakeKey("sk-proj-", 60)
	testkit.Must(r.t, err)
	r.keys["OPENAI_API_KEY"] = k
	r.envVars = []string{"OPENAI_API_KEY"}
	r.env["E2E_VARS"] = "OPENAI_API_KEY"
	return k
}

func leaseRecord(t *testing.T, res e2eResult) *record.Record {
	t.Helper()
	b, err := os.ReadFile(res.outputs["record-path"])
	testkit.Must(t, err)
	rec, err := record.Decode(b)
	testkit.Must(t, err)
	return rec
}

func TestEnvStore(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"step env", "secrets-env input"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			r := storesE2E(t, "env://OPENAI_CI_KEY", `"env":{"environments":["ci"]}`)
			key := r.newKey()
			if how == "step env" {
				r.env["OPENAI_CI_KEY"] = key
			} else {
				r.env["KEYLEASE_SECRETS_ENV"] = "OTHER=x\nOPENAI_CI_KEY=" + key + "\n"
			}
			r.env["E2E_ABSENT"] = "OPENAI_CI_KEY,KEYLEASE_SECRETS_ENV"
			res := r.run("stores", "--vendor", "openai")
			r.leasedUnseen(res, "the value must reach it under the leased name only")
			r.masked(res)
			if !bytes.Contains(res.stdout, []byte("::add-mask::")) {
				t.Error("no ::add-mask:: registration on stdout")
			}
			rec := leaseRecord(t, res)
			if l := rec.Leases[0]; l.Source != "env" || l.Outcome != record.OutcomeLeased || l.Ref != "env://OPENAI_CI_KEY" {
				t.Errorf("record lease %+v, want source env, leased", l)
			}
			if rec.Session == nil || rec.Session.Source != "none" {
				t.Errorf("an env:// lease obtained an AWS session (the record should say none): %+v", rec.Session)
			}
		})
	}
}

// A value without the policy's required prefix (the wrong secret mapped) is
// refused, exit 3, and the message shows nothing of it.
func TestEnvStoreWrongValue(t *testing.T) {
	t.Parallel()
	r := storesE2E(t, "env://OPENAI_CI_KEY", `"env":{"environments":["ci"]}`)
	wrong, err := fakeKey("ghp_", 36)
	testkit.Must(t, err)
	r.keys["OPENAI_API_KEY"] = wrong
	r.env["OPENAI_CI_KEY"] = wrong
	res := r.run("stores", "--vendor", "openai")
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("env env://OPENAI_CI_KEY: BadValue: the value does not start with the policy's required prefix for openai")) {
		t.Fatalf("exit %d, want 3 and a prefix refusal naming the ref; stderr %s", res.code, res.stderr)
	}
	if r.childRan() {
		t.Error("the child ran with the wrong secret")
	}
}

func TestEnvStoreMissing(t *testing.T) {
	t.Parallel()
	r := storesE2E(t, "env://OPENAI_CI_KEY", `"env":{"environments":["ci"]}`)
	r.newKey() // in the canary only: nothing maps it
	res := r.run("stores", "--vendor", "openai")
	if res.code != 3 {
		t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
	}
	if !bytes.Contains(res.stderr, []byte("env://OPENAI_CI_KEY")) || !bytes.Contains(res.stderr, []byte("secrets.OPENAI_CI_KEY")) {
		t.Errorf("stderr does not name the ref and the fix:\n%s", res.stderr)
	}
	if r.childRan() {
		t.Error("the child ran without its lease")
	}
}

func TestEnvStoreRefusedElsewhere(t *testing.T) {
	t.Parallel()
	r := storesE2E(t, "env://OPENAI_CI_KEY", `"env":{"environments":["dev"]}`)
	key := r.newKey()
	r.env["OPENAI_CI_KEY"] = key
	res := r.run("stores", "--vendor", "openai")
	if res.code != 2 || !bytes.Contains(res.stderr, []byte("backends.env.environments")) {
		t.Fatalf("exit %d, want 2 naming backends.env.environments; stderr %s", res.code, res.stderr)
	}
	// An unregistered --ref is checked at lease time: refused, exit 3.
	testkit.WriteFile(t, filepath.Join(r.dir, "registry.yaml"), "openai:\n  dev:\n    secret_ref: kv://openai/dev/api_key\n    scope: [llm:chat]\n    max_ttl_seconds: 900\n")
	res = r.run("stores", "--ref", "OPENAI_API_KEY=env://OPENAI_CI_KEY")
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("backends.env.environments")) {
		t.Fatalf("exit %d, want 3 naming backends.env.environments; stderr %s", res.code, res.stderr)
	}
	if r.childRan() {
		t.Error("the child ran")
	}
}

var (
	opOnce sync.Once
	opDir  string
	opErr  error
)

// opStandIn builds internal/opfake as `op` once and returns its directory.
func opStandIn(t *testing.T) string {
	t.Helper()
	opOnce.Do(func() {
		opDir, opErr = os.MkdirTemp("", "keylease-opfake-")
		if opErr != nil {
			return
		}
		name := "op"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(opDir, name), "../../internal/opfake").CombinedOutput()
		if err != nil {
			opErr = fmt.Errorf("build opfake: %w: %s", err, out)
		}
	})
	if opErr != nil {
		t.Fatal(opErr)
	}
	return opDir
}

// opE2E is an e2e world whose openai.ci entry is ref, read by the stand-in
// op from a database outside the run's directory (which the canary reads).
func opE2E(t *testing.T, ref string, db map[string]any) *e2e {
	t.Helper()
	r := storesE2E(t, ref, `"op":{"environments":["ci"]}`)
	tok, err := fakeKey("ops_", 80)
	testkit.Must(t, err)
	if _, ok := db["token"]; !ok {
		db["token"] = tok
	}
	b, err := json.Marshal(db)
	testkit.Must(t, err)
	dbPath := filepath.Join(t.TempDir(), "op-db.json")
	testkit.WriteFile(t, dbPath, string(b))
	r.env["OP_FAKE_DB"] = dbPath
	r.env["OP_FAKE_ENV_OUT"] = filepath.Join(filepath.Dir(dbPath), "op-env")
	r.env["OP_FAKE_ARGS_OUT"] = filepath.Join(filepath.Dir(dbPath), "op-args")
	r.env["OP_SERVICE_ACCOUNT_TOKEN"] = tok
	r.extra = append(r.extra, tok)
	r.env["PATH"] = opStandIn(t) + string(os.PathListSeparator) + os.Getenv("PATH")
	r.env["E2E_ABSENT"] = "OP_SERVICE_ACCOUNT_TOKEN"
	return r
}

func TestOPStore(t *testing.T) {
	t.Parallel()
	const ref = "op://CI Keys/OpenAI/credential"
	r := opE2E(t, ref, map[string]any{})
	key := r.newKey()
	b, _ := json.Marshal(map[string]any{"token": r.env["OP_SERVICE_ACCOUNT_TOKEN"], "items": map[string]string{ref: key}})
	testkit.WriteFile(t, r.env["OP_FAKE_DB"], string(b))
	// A local `op signin` session and a Connect token are op's too.
	for _, k := range []string{"OP_SESSION_my", "OP_CONNECT_TOKEN"} {
		tok, err := fakeKey("opsess", 43)
		testkit.Must(t, err)
		r.env[k] = tok
		r.extra = append(r.extra, tok)
	}
	r.env["E2E_ABSENT"] += ",OP_SESSION_my,OP_CONNECT_TOKEN"
	res := r.run("stores", "--vendor", "openai")
	r.leasedUnseen(res, "the service-account token is op's only")
	r.masked(res)
	if l := leaseRecord(t, res).Leases[0]; l.Source != "op" || l.Outcome != record.OutcomeLeased {
		t.Errorf("record lease %+v, want source op, leased", l)
	}
	// op's command line is the ref alone: the token travels in its
	// environment, never in argv (which any process on the runner may read).
	args, err := os.ReadFile(r.env["OP_FAKE_ARGS_OUT"])
	testkit.Must(t, err)
	if got := strings.Split(string(args), "\n"); !slices.Equal(got, []string{"read", "--no-newline", ref}) {
		t.Errorf("op's argv %q, want read --no-newline %s", got, ref)
	}
	leakcheck.Assert(t, "op's argv", args, append([]string{key}, r.extra...)...)
	// op was given what it needs and nothing of the runner's, AWS's or
	// keylease's own.
	b, err = os.ReadFile(r.env["OP_FAKE_ENV_OUT"])
	testkit.Must(t, err)
	names := strings.Split(string(b), "\n")
	if !slices.Contains(names, "OP_SERVICE_ACCOUNT_TOKEN") || !slices.Contains(names, "PATH") {
		t.Errorf("op lacks its token or PATH: %v", names)
	}
	for _, n := range names {
		for _, p := range []string{"AWS_", "ACTIONS_", "GITHUB_", "KEYLEASE_", "E2E_", "OPENAI_"} {
			if strings.HasPrefix(n, p) {
				t.Errorf("op was given %s", n)
			}
		}
	}
}

func TestOPStoreFailures(t *testing.T) {
	t.Parallel()
	const ref = "op://ci/openai/credential"
	cases := []struct {
		name string
		db   map[string]any
		env  map[string]string
		want string
	}{
		{"item missing", map[string]any{"items": map[string]string{}}, nil, "NotFound: 1Password has no such vault, item or field"},
		{"permission denied", map[string]any{"denied": []string{"ci"}}, nil, "PermissionDenied: the service account may not read this item"},
		{"store down", map[string]any{"down": true}, nil, "StoreUnavailable: op could not reach 1Password"},
		{"bad token", map[string]any{"token": "ops_other"}, nil, "AuthFailed: op is not signed in or the service-account token was refused"},
		{"op not installed", map[string]any{}, map[string]string{"PATH": "EMPTY"}, "StoreUnavailable: the 1Password CLI (op) is not on PATH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := opE2E(t, ref, c.db)
			r.newKey()
			for k, v := range c.env {
				if v == "EMPTY" {
					v = t.TempDir()
				}
				r.env[k] = v
			}
			res := r.run("stores", "--vendor", "openai")
			if res.code != 3 {
				t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
			}
			if !bytes.Contains(res.stderr, []byte(ref)) || !bytes.Contains(res.stderr, []byte(c.want)) {
				t.Errorf("stderr does not name the ref and say %q:\n%s", c.want, res.stderr)
			}
			if bytes.Contains(res.stderr, []byte("[ERROR]")) {
				t.Errorf("op's own stderr was repeated:\n%s", res.stderr)
			}
			if r.childRan() {
				t.Error("the child ran without its lease")
			}
			if l := leaseRecord(t, res).Leases[0]; l.Outcome != record.OutcomeFailed || !strings.Contains(l.Error, ref) || l.Source != "op" {
				t.Errorf("record lease %+v, want failed naming the ref", l)
			}
		})
	}
}

// vaultE2E is an e2e world whose openai.ci entry is ref, with a Vault
// emulator that trusts the stack's OIDC issuer as VAULT_ADDR.
func vaultE2E(t *testing.T, ref, namespace string) (*e2e, *vaultfake.Server) {
	t.Helper()
	r := storesE2E(t, ref, `"vault":{"environments":["ci"],"role":"keylease-ci"}`)
	v, err := vaultfake.Start(r.stack.OIDC.Issuer(), "jwt", namespace)
	testkit.Must(t, err)
	t.Cleanup(func() { _ = v.Close() })
	v.AddRole("keylease-ci", vaultfake.Role{Audience: "vault", BoundClaims: map[string]string{"repository": "keylease/demo"}, Paths: []string{"secret/openai"}})
	r.env["VAULT_ADDR"] = v.URL()
	if namespace != "" {
		r.env["VAULT_NAMESPACE"] = namespace
	}
	// A token of the user's own: with OIDC it is not used, and the child
	// does not get it.
	decoy, err := fakeKey("hvs.", 24)
	testkit.Must(t, err)
	r.env["VAULT_TOKEN"] = decoy
	r.extra = append(r.extra, decoy)
	r.env["E2E_ABSENT"] = "VAULT_TOKEN"
	return r, v
}

// vaultCanary adds what the emulator saw (the JWTs and its tokens) to the
// canary of a run that already happened, and checks again.
func vaultCanary(r *e2e, v *vaultfake.Server, res e2eResult) {
	r.extra = append(r.extra, v.Secrets()...)
	r.canary(res)
}

func TestVaultStore(t *testing.T) {
	t.Parallel()
	for _, ns := range []string{"", "team-a"} {
		t.Run("namespace "+ns, func(t *testing.T) {
			t.Parallel()
			r, v := vaultE2E(t, "vault://secret/openai/ci#api_key", ns)
			key := r.newKey()
			v.Put("secret", "openai/ci", map[string]any{"api_key": "sk-old-version-of-the-key-0000000000"})
			v.Put("secret", "openai/ci", map[string]any{"api_key": key, "note": "rotated"})
			res := r.run("stores", "--vendor", "openai")
			vaultCanary(r, v, res)
			r.leasedUnseen(res, "")
			if l := leaseRecord(t, res).Leases[0]; l.Source != "vault" || l.VersionID != "2" || l.Outcome != record.OutcomeLeased {
				t.Errorf("record lease %+v, want source vault, version 2, leased", l)
			}
			if logins, revoked, live := v.Stats(); logins != 1 || revoked != 1 || live != 0 {
				t.Errorf("vault: %d login(s), %d revoked, %d live; want one login, revoked at the lease's end", logins, revoked, live)
			}
			r.masked(res)
		})
	}
}

// VAULT_ADDR over HTTPS with VAULT_CACERT naming its CA, read by the
// official client: trusted with it, refused (exit 3) without it.
func TestVaultStoreTLS(t *testing.T) {
	t.Parallel()
	r, plain := vaultE2E(t, "vault://secret/openai/ci#api_key", "")
	_ = plain.Close()
	v, caPEM, err := vaultfake.StartTLS(r.stack.OIDC.Issuer(), "jwt", "")
	testkit.Must(t, err)
	t.Cleanup(func() { _ = v.Close() })
	v.AddRole("keylease-ci", vaultfake.Role{Audience: "vault", Paths: []string{"secret/openai"}})
	key := r.newKey()
	v.Put("secret", "openai/ci", map[string]any{"api_key": key})
	ca := filepath.Join(t.TempDir(), "vault-ca.pem")
	testkit.WriteFile(t, ca, string(caPEM))
	r.env["VAULT_ADDR"] = v.URL()

	res := r.run("stores", "--vendor", "openai")
	vaultCanary(r, v, res)
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("StoreUnavailable")) {
		t.Fatalf("an untrusted certificate: exit %d, want 3; stderr %s", res.code, res.stderr)
	}
	r.env["VAULT_CACERT"] = ca
	res = r.run("stores", "--vendor", "openai")
	vaultCanary(r, v, res)
	if res.code != 0 {
		t.Fatalf("with VAULT_CACERT: exit %d, stderr %s", res.code, res.stderr)
	}
	r.received()
	if logins, revoked, live := v.Stats(); logins != 1 || revoked != 1 || live != 0 {
		t.Errorf("vault: %d login(s), %d revoked, %d live", logins, revoked, live)
	}
}

func TestVaultStoreFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ref string
		setup     func(*vaultfake.Server)
		want      string
	}{
		{"item missing", "vault://secret/openai/ci#api_key", func(*vaultfake.Server) {}, "NotFound: Vault has no KV v2 secret"},
		{"field missing", "vault://secret/openai/ci#api_key", func(v *vaultfake.Server) { v.Put("secret", "openai/ci", map[string]any{"other": "x"}) }, "NotFound: the secret has no field api_key"},
		{"permission denied", "vault://secret/anthropic/ci#api_key", func(v *vaultfake.Server) { v.Put("secret", "anthropic/ci", map[string]any{"api_key": "x"}) }, "PermissionDenied: Vault's policy for role keylease-ci does not allow"},
		{"store down", "vault://secret/openai/ci#api_key", func(v *vaultfake.Server) { v.SetSealed(true) }, "StoreUnavailable: Vault's JWT login failed (HTTP 503)"},
		{"login refused", "vault://secret/openai/ci#api_key", func(v *vaultfake.Server) {
			v.AddRole("keylease-ci", vaultfake.Role{Audience: "other-audience", Paths: []string{"secret/openai"}})
		}, "AuthFailed: Vault refused the JWT login as role keylease-ci"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, v := vaultE2E(t, c.ref, "")
			r.newKey()
			c.setup(v)
			res := r.run("stores", "--vendor", "openai")
			vaultCanary(r, v, res)
			if res.code != 3 {
				t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
			}
			if !bytes.Contains(res.stderr, []byte(c.ref)) || !bytes.Contains(res.stderr, []byte(c.want)) {
				t.Errorf("stderr does not name the ref and say %q:\n%s", c.want, res.stderr)
			}
			if r.childRan() {
				t.Error("the child ran without its lease")
			}
			if logins, revoked, live := v.Stats(); live != 0 || revoked != logins {
				t.Errorf("vault: %d login(s), %d revoked, %d live; a failed lease must revoke its token too", logins, revoked, live)
			}
		})
	}
}

// keychainE2E is a local run (no GITHUB_ACTIONS) of --env local whose
// openai.local entry is ref.
func keychainE2E(t *testing.T, ref string) *e2e {
	t.Helper()
	r := newE2E(t)
	testkit.WriteFile(t, filepath.Join(r.dir, "registry.yaml"), "openai:\n  local:\n    secret_ref: \""+ref+"\"\n    scope: [llm:chat]\n    max_ttl_seconds: 900\n")
	testkit.WriteFile(t, filepath.Join(r.dir, "policy.json"), `{"version":1,"allowed_secrets":["openai"],"required_prefix":{"openai":"sk-"},
"flags":{"no_logging":true,"no_persistence":true},"backends":{"kv":{"type":"aws-secretsmanager"},"keychain":{"environments":["local"]}}}`)
	delete(r.env, "GITHUB_ACTIONS")
	r.env["CI"] = "false"
	for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_RUNTIME_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			r.env[k] = v
		}
	}
	return r
}

func TestKeychainStore(t *testing.T) {
	if os.Getenv("KEYLEASE_KEYRING_TEST") != "1" {
		t.Skip("set KEYLEASE_KEYRING_TEST=1 with a Secret Service running (.ci/keyring.sh)")
	}
	t.Parallel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	service := "keylease-e2e-" + hex.EncodeToString(b)
	r := keychainE2E(t, "keychain://"+service+"/dev")
	key := r.newKey()
	testkit.Must(t, keyring.Set(service, "dev", key))
	t.Cleanup(func() { _ = keyring.Delete(service, "dev") })
	recPath := filepath.Join(r.dir, "record.json")
	res := r.run("stores", "--env", "local", "--vendor", "openai", "--record", recPath)
	if res.code != 0 {
		t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	r.received()
	res.outputs["record-path"] = recPath // a local run writes no GITHUB_OUTPUT
	r.masked(res)
	if l := leaseRecord(t, res).Leases[0]; l.Source != "keychain" || l.Outcome != record.OutcomeLeased {
		t.Errorf("record lease %+v", l)
	}
	testkit.Must(t, keyring.Delete(service, "dev"))
	res = r.run("stores", "--env", "local", "--vendor", "openai")
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("keychain://"+service+"/dev")) || !bytes.Contains(res.stderr, []byte("NotFound")) {
		t.Errorf("item missing: exit %d, want 3 naming the ref; stderr %s", res.code, res.stderr)
	}
}

// Under CI a keychain:// ref is refused even with --env local, before any
// keychain is asked.
func TestKeychainRefusedUnderCI(t *testing.T) {
	t.Parallel()
	for _, ci := range []map[string]string{{"GITHUB_ACTIONS": "true"}, {"CI": "true"}, {"CI": "1"}, {"CI": "True"}} {
		r := keychainE2E(t, "keychain://keylease/dev")
		r.newKey()
		for k, v := range ci {
			r.env[k] = v
		}
		res := r.run("stores", "--env", "local", "--vendor", "openai")
		if res.code != 3 || !bytes.Contains(res.stderr, []byte("keychain:// refs are refused under CI")) || !bytes.Contains(res.stderr, []byte("keychain://keylease/dev")) {
			t.Errorf("%v: exit %d, want 3 refusing keychain under CI; stderr %s", ci, res.code, res.stderr)
		}
		if r.childRan() {
			t.Error("the child ran")
		}
	}
}

// A Vault that answers the JWT login with a redirect to another server is
// not followed: the job's OIDC token (in the login body) never reaches the
// other server, and the lease fails naming the ref.
func TestVaultStoreRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	r, v := vaultE2E(t, "vault://secret/openai/ci#api_key", "")
	other, err := vaultfake.Start(r.stack.OIDC.Issuer(), "jwt", "")
	testkit.Must(t, err)
	t.Cleanup(func() { _ = other.Close() })
	other.AddRole("keylease-ci", vaultfake.Role{Audience: "vault", Paths: []string{"secret/openai"}})
	key := r.newKey()
	other.Put("secret", "openai/ci", map[string]any{"api_key": key})
	v.RedirectTo(other.URL())
	res := r.run("stores", "--vendor", "openai")
	vaultCanary(r, v, res)
	vaultCanary(r, other, res)
	if all, _ := other.Requests(); all != 0 || len(other.Secrets()) != 0 {
		t.Fatalf("the redirect was followed: %d request(s) reached the other server", all)
	}
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("vault://secret/openai/ci#api_key")) || !bytes.Contains(res.stderr, []byte("redirect")) {
		t.Fatalf("exit %d, want 3 naming the ref and the redirect; stderr %s", res.code, res.stderr)
	}
	if r.childRan() {
		t.Error("the child ran without its lease")
	}
}

// A GitHub secret mapped into the step for another registry entry's env://
// ref is a vendor key too: the child of a lease that did not lease it does
// not get it either.
func TestEnvStoreOtherEntrySource(t *testing.T) {
	t.Parallel()
	r := storesE2E(t, "env://OPENAI_CI_KEY", `"env":{"environments":["ci","dev"]}`)
	testkit.WriteFile(t, filepath.Join(r.dir, "registry.yaml"), `openai:
  ci:
    secret_ref: "env://OPENAI_CI_KEY"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
  dev:
    secret_ref: "env://OPENAI_DEV_KEY"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
`)
	key := r.newKey()
	r.env["OPENAI_CI_KEY"] = key
	other, err := fakeKey("sk-proj-", 60)
	testkit.Must(t, err)
	r.env["OPENAI_DEV_KEY"] = other
	r.extra = append(r.extra, other)
	r.env["E2E_ABSENT"] = "OPENAI_CI_KEY,OPENAI_DEV_KEY"
	res := r.run("stores", "--vendor", "openai")
	r.leasedUnseen(res, "")
}

// Vault's login audience may not be the AWS session's: Vault would hold a
// token good for assuming keylease's role. Refused before any token is
// requested for it, also when --audience makes them equal.
func TestVaultStoreOwnAudience(t *testing.T) {
	t.Parallel()
	r, v := vaultE2E(t, "vault://secret/openai/ci#api_key", "")
	r.newKey()
	res := r.run("stores", "--vendor", "openai", "--audience", "vault")
	vaultCanary(r, v, res)
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("is the audience of keylease's AWS session (--audience)")) {
		t.Fatalf("exit %d, want 3 refusing the AWS audience; stderr %s", res.code, res.stderr)
	}
	if logins, _, _ := v.Stats(); logins != 0 || len(v.Secrets()) != 0 {
		t.Errorf("Vault was sent %d token(s)", len(v.Secrets()))
	}
	if r.childRan() {
		t.Error("the child ran")
	}
}
