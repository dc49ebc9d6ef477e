package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

const rotateE2ERegistry = `# keylease registry (rotate e2e)
openai:
  admin:                              # the admin key: keylease's own
    secret_ref: "aws-sm://openai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "aws-sm://openai/ci"  # rotated monthly
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-01-01
    rotation: {method: mint, admin: admin, project_id: "proj_e2e"}
`

// TestRotateBinaryEndToEnd drives the real binary as rotate.yml does
// (KEYLEASE_* and GITHUB_* in the environment, the registry update as a
// pull request) against the emulators: a key the vendor rejects is never
// promoted (exit 3, AWSCURRENT untouched, the minted key deleted); the
// rerun rotates (exit 0: new key current and valid, old key deleted, one
// service account, one PR holding last_rotated with the comments kept); a
// third run changes nothing. No output, record or PR holds any form of a
// key, the admin key or the GitHub token.
func TestRotateBinaryEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stack, _ := testkit.Stack(t)
	oa := testkit.OpenAI(t)
	const token = "ghs_fakeTokenForTheRotateE2E0123456789ab"
	gh, err := githubfake.Start("/api/v3", token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	repo := gh.AddRepo("acme", "infra", "main")
	gh.Lock()
	repo.Files["main"]["keylease/registry.yaml"] = []byte(rotateE2ERegistry)
	gh.Unlock()

	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	testkit.Must(t, os.MkdirAll(filepath.Join(ws, "keylease"), 0o700))
	reg, pol := filepath.Join(ws, "keylease", "registry.yaml"), filepath.Join(dir, "policy.json")
	testkit.Must(t, os.WriteFile(reg, []byte(rotateE2ERegistry), 0o600))
	testkit.Must(t, os.WriteFile(pol, []byte(rotateCLIPolicy), 0o600))

	admin := oa.AddAdminKey()
	stack.Seed("openai/admin", admin)
	vo := vendorapi.Options{Getenv: func(k string) string {
		if k == "OPENAI_BASE_URL" {
			return oa.BaseURL()
		}
		return ""
	}}
	c, err := vendorapi.NewOpenAI(vo)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Project(secret.FromString(admin), "proj_e2e").Mint(ctx, "initial")
	if err != nil {
		t.Fatal(err)
	}
	oldKey := string(m.Key.Bytes())
	form, err := keyform.Encode(m.Key, m.KeyID, map[string]string{"retire_id": m.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, oldVID := stack.SM.Put(stack.Region, "openai/ci", smfake.Value{String: string(form.Bytes())})
	values := []string{admin, oldKey, string(form.Bytes()), token}

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=acme/infra", "GITHUB_WORKSPACE=" + ws, "GITHUB_RUN_ID=4242", "GITHUB_RUN_ATTEMPT=1",
		"GITHUB_API_URL=" + gh.APIURL(), "GITHUB_TOKEN=" + token, "RUNNER_TEMP=" + dir,
		"GITHUB_OUTPUT=" + filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary"),
		"OPENAI_BASE_URL=" + oa.BaseURL(),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"KEYLEASE_REGISTRY=" + reg, "KEYLEASE_POLICY=" + pol, "KEYLEASE_ROLE_ARN=" + stack.RoleARN}
	env = append(env, stack.Env()...)
	for _, f := range []string{"output", "summary"} {
		testkit.Must(t, os.WriteFile(filepath.Join(dir, f), nil, 0o600))
	}
	rotate := func(args ...string) (int, []byte) {
		t.Helper()
		cmd := exec.Command(keyleaseBin, append([]string{"rotate", "--vendor", "openai", "--env", "ci", "--retire-after", "0"}, args...)...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		// What the log shows: the runner consumes ::add-mask:: lines.
		var visible bytes.Buffer
		for _, line := range bytes.SplitAfter(stdout.Bytes(), []byte("\n")) {
			if !bytes.HasPrefix(line, []byte("::add-mask::")) {
				visible.Write(line)
			}
		}
		visible.Write(stderr.Bytes())
		if f := masking.NewScanner(masking.ScanOptions{Detectors: true, Fingerprints: oidcTokens(stack)}).Scan(visible.Bytes()); len(f) > 0 {
			t.Errorf("rotate output holds %d key-shaped text(s) or OIDC token(s): %+v", len(f), f)
		}
		return code, visible.Bytes()
	}
	current := func() string {
		t.Helper()
		for vid, stages := range stack.SM.Stages(stack.Region, "openai/ci") {
			for _, s := range stages {
				if s == "AWSCURRENT" {
					return vid
				}
			}
		}
		return ""
	}

	// 1. The vendor rejects the new key: nothing is promoted.
	oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Error, Status: 401, Code: "invalid_api_key", Times: 1})
	code, out := rotate()
	if code != exitLease || !strings.Contains(string(out), "did not pass the vendor's validity check") {
		t.Fatalf("rejected key: exit %d, want 3:\n%s", code, out)
	}
	if current() != oldVID || oa.ServiceAccounts("proj_e2e") != 1 {
		t.Fatalf("after a rejected key: AWSCURRENT %s (want %s), %d service accounts (want the old one only)", current(), oldVID, oa.ServiceAccounts("proj_e2e"))
	}
	leakcheck.Assert(t, "rejected run output", out, values...)

	// 2. The rerun rotates and opens the registry pull request.
	code, out = rotate()
	if code != exitOK {
		t.Fatalf("rotate: exit %d:\n%s", code, out)
	}
	newVID := current()
	var newKey string
	if v, ok := stack.SM.Value(stack.Region, "openai/ci", newVID); ok {
		st, derr := keyform.Decode(secret.FromString(v.String))
		if derr != nil {
			t.Fatal(derr)
		}
		newKey = string(st.Key.Bytes())
		values = append(values, newKey, v.String)
	}
	if newVID == oldVID || newKey == "" {
		t.Fatalf("AWSCURRENT is still %s", newVID)
	}
	if v, _ := c.Check(ctx, secret.FromString(newKey)); v != vendorapi.Valid {
		t.Fatalf("the new key is %s at the vendor", v)
	}
	if v, _ := c.Check(ctx, secret.FromString(oldKey)); v != vendorapi.Invalid {
		t.Fatalf("the old key is %s at the vendor, want invalid", v)
	}
	if n := oa.ServiceAccounts("proj_e2e"); n != 1 {
		t.Fatalf("%d service accounts, want 1", n)
	}
	gh.Lock()
	pulls := len(repo.Pulls)
	var prText string
	if pulls == 1 {
		p := repo.Pulls[0]
		prText = p.Title + "\n" + p.Body + "\n" + string(repo.Files[p.Head]["keylease/registry.yaml"])
	}
	gh.Unlock()
	if pulls != 1 || !strings.Contains(prText, "last_rotated: 2026-") || !strings.Contains(prText, "# rotated monthly") {
		t.Fatalf("%d pull requests; PR:\n%s", pulls, prText)
	}
	if b, _ := os.ReadFile(reg); string(b) != rotateE2ERegistry {
		t.Fatal("pr mode changed the workspace registry")
	}

	// 3. Nothing left to do: no state-changing call.
	stack.SM.Faults.ResetCounts()
	code, out3 := rotate()
	if code != exitOK || !strings.Contains(string(out3), "already rotated") {
		t.Fatalf("third run: exit %d:\n%s", code, out3)
	}
	if cnt := stack.SM.Faults.Counts(); cnt[smfake.OpPutSecretValue]+cnt[smfake.OpUpdateSecretVersionStage]+cnt[smfake.OpTagResource] != 0 {
		t.Fatalf("third run changed state: %v", cnt)
	}

	// Nothing anywhere holds a value.
	leakcheck.Assert(t, "rotate output", out, values...)
	leakcheck.Assert(t, "third run output", out3, values...)
	leakcheck.Assert(t, "pull request", []byte(prText), values...)
	// Every file the runs left: records, GITHUB_OUTPUT, the step summary.
	recs := 0
	testkit.Must(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), "keylease-rotation-") {
			recs++
		}
		b, err := os.ReadFile(p) //nolint:gosec // the test's own temp dir
		if err != nil {
			return err
		}
		leakcheck.Assert(t, p, b, values...)
		return nil
	}))
	if recs != 3 {
		t.Fatalf("%d rotation records, want one per run", recs)
	}
}

// oidcTokens are the fingerprints of every OIDC token STS was given.
func oidcTokens(stack *emulators.Stack) map[string]string {
	fps := map[string]string{}
	for _, f := range stack.STS.TokenFingerprints() {
		fps[f] = "oidc-token"
	}
	return fps
}
