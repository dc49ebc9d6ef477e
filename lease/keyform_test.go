package lease

import (
	"bytes"
	"context"
	"github.com/keylease/keylease/internal/testkit"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/record"
)

// TestJSONFormSecretLeasesTheKey: a rotated secret stored as {"api_key",
// "key_id", …} leases the api_key (the required prefix is checked on it, not
// on the JSON), and the record carries the key_id, never the key or the JSON.
func TestJSONFormSecretLeasesTheKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stack, err := emulators.StartAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Close() })
	vars := map[string]string{}
	for _, kv := range stack.Env() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	const key = "sk-proj-JSONForm0123456789abcdefGHIJKLmnopqrstUV"
	stored := `{"api_key":"` + key + `","key_id":"key_rot42","service_account_id":"svc_acct_7"}`
	stack.Seed("openai/ci/api_key", stored)
	dir := t.TempDir()
	reg, pol := filepath.Join(dir, "registry.yaml"), filepath.Join(dir, "policy.json")
	testkit.WriteFile(t, reg, "openai:\n  ci:\n    secret_ref: \"kv://openai/ci/api_key\"\n    scope: [\"llm:chat\"]\n    max_ttl_seconds: 300\n")
	testkit.WriteFile(t, pol, `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "dev": 3600, "ci": 900, "prod": 300}}`)
	vars["AWS_CONFIG_FILE"] = filepath.Join(dir, "no-config")
	vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(dir, "no-credentials")
	o := Options{RegistryPath: reg, PolicyPath: pol, Env: "ci", Vendors: []string{"openai"},
		RoleARN: stack.RoleARN, OIDCIssuer: vars["KEYLEASE_OIDC_ISSUER"], Identity: IdentityOIDC,
		RecordPath: filepath.Join(dir, "record.json")}
	var out, errb bytes.Buffer
	l := New(o, IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }, Environ: func() []string { return nil }})
	defer l.Close()
	for _, step := range []func() error{l.Load, l.Resolve, func() error { return l.Session(ctx) }, func() error { return l.Fetch(ctx) }} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if v := l.Values()["OPENAI_API_KEY"]; string(v.Bytes()) != key {
		t.Fatalf("leased value is not the api_key (%d bytes)", v.Len())
	}
	res, err := l.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := os.ReadFile(res.RecordPath)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Decode(rb)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Leases[0].KeyID; got != "key_rot42" {
		t.Errorf("record key_id %q, want key_rot42", got)
	}
	for name, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errb.Bytes(), "record": rb} {
		leakcheck.Assert(t, name, b, key)
		leakcheck.Assert(t, name, b, stored)
	}
}
