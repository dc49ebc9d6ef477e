package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/masking"
)

const rotateCLIRegistry = `openai:
  admin:
    secret_ref: "aws-sm://openai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "aws-sm://openai/ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-01-01
    rotation: {method: staged, admin: admin}
`

const rotateCLIPolicy = `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "admin": 300, "ci": 900}, "rotation_days": {"ci": 30}}`

// TestRotateCLI drives `keylease rotate` through realMain with the session
// read from KEYLEASE_* as the workflow passes it: usage errors exit 2, a
// staged entry without AWSPENDING exits 3 with the put-secret-value command,
// --dry-run prints the plan and changes nothing; no output holds a key.
func TestRotateCLI(t *testing.T) {
	t.Parallel()
	stack, _ := testkit.Stack(t)
	oa := testkit.OpenAI(t)
	dir := t.TempDir()
	admin := oa.AddAdminKey()
	_, cur := oa.AddKey("p", "current", false)
	stack.Seed("openai/admin", admin)
	stack.Seed("openai/ci", cur)
	reg, pol := filepath.Join(dir, "r.yaml"), filepath.Join(dir, "p.json")
	testkit.Must(t, os.WriteFile(reg, []byte(rotateCLIRegistry), 0o600))
	testkit.Must(t, os.WriteFile(pol, []byte(rotateCLIPolicy), 0o600))
	vars := map[string]string{"OPENAI_BASE_URL": oa.BaseURL(), "RUNNER_TEMP": dir,
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"KEYLEASE_REGISTRY": reg, "KEYLEASE_POLICY": pol, "KEYLEASE_IDENTITY": "oidc"}
	for _, kv := range stack.Env() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no target", []string{"rotate"}, exitConfig, "give --vendor and --env, or --due"},
		{"bad retire-after", []string{"rotate", "--vendor", "openai", "--env", "ci", "--retire-after", "soon"}, exitConfig, "whole days (30d)"},
		{"key as flag", []string{"rotate", "--vendor", "openai", "--env", "ci", "--role-arn", admin}, exitConfig, "looks like a key"},
		{"not rotated", []string{"rotate", "--vendor", "openai", "--env", "admin"}, exitConfig, "has no rotation block"},
		{"staged", []string{"rotate", "--vendor", "openai", "--env", "ci", "--registry-update", "none"}, exitLease,
			"aws secretsmanager put-secret-value --secret-id openai/ci --secret-string '{\"api_key\":\"NEW_KEY\",\"key_id\":\"NEW_KEY_ID\"}' --version-stages AWSPENDING"},
		{"dry run", []string{"rotate", "--due", "--dry-run", "--retire-after", "30d"}, exitOK, "plan: create: needs an AWSPENDING value"},
	}
	for _, tc := range tests {
		e, out, errb := testEnv(vars)
		code := realMain(context.Background(), tc.args, e)
		if code != tc.wantCode || !strings.Contains(errb.String()+out.String(), tc.wantErr) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s%s", tc.name, code, tc.wantCode, tc.wantErr, out.String(), errb.String())
		}
		for _, v := range []string{admin, cur} {
			leakcheck.Assert(t, tc.name+" stdout", out.Bytes(), v)
			leakcheck.Assert(t, tc.name+" stderr", errb.Bytes(), v)
		}
	}
	if c := stack.SM.Faults.Counts(); c[smfake.OpPutSecretValue]+c[smfake.OpUpdateSecretVersionStage]+c[smfake.OpTagResource] != 0 {
		t.Fatalf("state changed: %v", c)
	}
}

// demoBinaryOutput runs the real binary's demo with a bare environment and
// returns its combined output; a failed demo fails the test.
func demoBinaryOutput(t *testing.T) []byte {
	t.Helper()
	cmd := exec.Command(keyleaseBin, "demo")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SYSTEMROOT=" + os.Getenv("SYSTEMROOT"), "TMPDIR=" + t.TempDir(), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	return out
}

// TestDemoRotates runs the real binary's demo and checks its rotation part
// (mint → test → promote → retire, the record written) and the audit after
// it; no key-shaped text.
func TestDemoRotates(t *testing.T) {
	t.Parallel()
	out := demoBinaryOutput(t)
	for _, want := range []string{"== rotation (", "create   done    minted", "test     done    valid at the vendor", "promote  done", "retire   done    old key",
		"ok   AWSCURRENT moved to the new version", "exactly one key is live", `"schema": "keylease.rotation-record/v1"`, "the rotation left one live key",
		// and the audit after it (demo_audit.go)
		"== audit (", "high leak-in-logs: demo/app run 1 job 11 log", "ok   the audit found the key printed in the job log",
		"ok   keylease audit exits 4 on a leak", "ok   nothing unreached or skipped"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if f := masking.NewScanner(masking.ScanOptions{Detectors: true}).Scan(out); len(f) > 0 {
		t.Errorf("demo output holds %d vendor-shaped secret(s)", len(f))
	}
}
