package lease

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/record"
)

// TestStepsWithoutAChild drives the steps the way a lifecycle command will:
// Load, Resolve, Session, Fetch, use the values, Finish — no child runs. The
// AWS SDK reaches the emulators through IO.Getenv only (the process
// environment is not touched, so the test runs in parallel).
func TestStepsWithoutAChild(t *testing.T) {
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
	const key = "sk-proj-StepsTest0123456789abcdefGHIJKLmnopqrstUV"
	stack.Seed("openai/ci/api_key", key)
	dir := t.TempDir()
	reg, pol := filepath.Join(dir, "registry.yaml"), filepath.Join(dir, "policy.json")
	mustWrite(t, reg, "openai:\n  ci:\n    secret_ref: \"kv://openai/ci/api_key\"\n    scope: [\"llm:chat\"]\n    max_ttl_seconds: 300\n")
	mustWrite(t, pol, `{"version": 1, "allowed_secrets": ["openai"],
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "dev": 3600, "ci": 900, "prod": 300}}`)
	// The process's own AWS settings must not matter: the lease's are pinned.
	vars["AWS_CONFIG_FILE"] = filepath.Join(dir, "no-config")
	vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(dir, "no-credentials")
	getenv := func(k string) string { return vars[k] }

	o := Options{RegistryPath: reg, PolicyPath: pol, Env: "ci", Vendors: []string{"openai"},
		RoleARN: stack.RoleARN, OIDCIssuer: vars["KEYLEASE_OIDC_ISSUER"], Identity: IdentityOIDC,
		RecordPath: filepath.Join(dir, "record.json")}
	if err := Check(o); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var out, errb bytes.Buffer
	l := New(o, IO{Stdout: &out, Stderr: &errb, Getenv: getenv, Environ: func() []string { return nil }})
	defer l.Close()
	if err := l.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := l.Resolve(); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if err := l.Session(ctx); err != nil {
		t.Fatalf("Session: %v", err)
	}
	if err := l.Fetch(ctx); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	v, ok := l.Values()["OPENAI_API_KEY"]
	if !ok || string(v.Bytes()) != key {
		t.Fatalf("Values() lacks the leased key (got %d values)", len(l.Values()))
	}
	res, err := l.Finish(nil)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if res.RecordPath == "" || res.Record.Command != nil {
		t.Fatalf("record path %q, command %+v: want a record without a command", res.RecordPath, res.Record.Command)
	}
	rb, err := os.ReadFile(res.RecordPath)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Decode(rb)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Leases) != 1 || rec.Leases[0].Outcome != record.OutcomeLeased || rec.Session == nil || rec.Session.Source != "oidc" {
		t.Fatalf("record %+v: want one leased lease under an oidc session", rec)
	}
	l.Close()
	if bytes.Contains(v.Bytes(), []byte(key)) {
		t.Error("Close left the value in memory")
	}
	for name, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errb.Bytes(), "record": rb} {
		leakcheck.Assert(t, name, b, key)
	}
}
