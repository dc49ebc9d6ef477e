package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
)

const fixtures = "../../testdata/registry/"

// pastedValues are the fake secrets planted in the fixtures (and in the
// generated cases below). None of them, in any common encoding, may appear
// in check's output.
var pastedValues = []string{
	"sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0JfRw4Tq7Zx",
	"xai-FAKE7hQ2mZ9vR4tL8wN3bY6cH1pK5sD0Ux3Vn8Ra",
	"correcthorsebatterystaple",
	"Xk7pQ2mZ9vR4tL8wN3bY6cH1dF5gJ0",
	"AKIAFAKE0EXAMPLE7Q2Z",
	"sk-ant-api03-FAKEw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeOX9YIMtCFIPzgNZpBdfdYfkM51ZFfOwBsRhae56YuHqQG0EYn1YGqDVPsFf5AA",
	"ghp_FAKE0123456789abcdefghijABCDEFGHIJ01",
}

// secretForms returns v and the encodings a log could show it in.
// assertNoSecret fails when any output holds a form of a pasted value (see
// internal/leakcheck).
func assertNoSecret(t *testing.T, outputs ...string) {
	t.Helper()
	for i, out := range outputs {
		leakcheck.Assert(t, fmt.Sprintf("output %d", i), []byte(out), pastedValues...)
	}
}

func TestCheckFixtures(t *testing.T) {
	t.Parallel()
	okReg, okPol := fixtures+"ok-registry.yaml", fixtures+"ok-policy.json"
	tests := []struct {
		name     string
		registry string
		policy   string
		wantCode int
		want     []string // substrings of stderr, each usually FILE:LINE:COL: FIELD
	}{
		{"example configs", "../../configs/secrets-registry.yaml", "../../configs/secrets-policy.json", exitOK, nil},
		{"ok fixtures", okReg, okPol, exitOK, nil},
		{"value pasted as ref", fixtures + "bad-value-in-ref.yaml", okPol, exitConfig,
			[]string{"bad-value-in-ref.yaml:4:5: openai.ci.secret_ref: looks like a secret value (openai-project-key detector)"}},
		{"value under api_key", fixtures + "bad-value-key.yaml", okPol, exitConfig,
			[]string{"bad-value-key.yaml:6:5: xai.ci.api_key: this key holds data"}},
		{"password key", fixtures + "bad-password-key.yaml", okPol, exitConfig,
			[]string{"bad-password-key.yaml:6:5: anthropic.ci.password: this key holds data"}},
		{"high-entropy label", fixtures + "bad-entropy-label.yaml", okPol, exitConfig,
			[]string{"bad-entropy-label.yaml:4:25: openai.ci.scope[1]: looks like a secret value (high-entropy detector)"}},
		{"aws key as vendor name", fixtures + "bad-aws-key-as-vendor.yaml", okPol, exitConfig,
			[]string{"bad-aws-key-as-vendor.yaml:1:1: <redacted key>: a key looks like a secret value (aws-access-key-id detector)"}},
		{"unknown vendor", fixtures + "bad-unknown-vendor.yaml", okPol, exitConfig,
			[]string{"bad-unknown-vendor.yaml:6:1: mistral: vendor is not in the policy's allowed_secrets"}},
		{"ttl over cap", fixtures + "bad-ttl-over-cap.yaml", okPol, exitConfig,
			[]string{"bad-ttl-over-cap.yaml:5:5: openai.ci.max_ttl_seconds: 3600 s exceeds the policy cap of 900 s",
				"bad-ttl-over-cap.yaml:9:5: openai.prod.max_ttl_seconds: 900 s exceeds the policy cap of 300 s"}},
		{"env without cap", fixtures + "bad-no-cap-env.yaml", okPol, exitConfig,
			[]string{"bad-no-cap-env.yaml:2:3: openai.staging: environment has no cap"}},
		{"wrong types", fixtures + "bad-wrong-types.yaml", okPol, exitConfig,
			[]string{"bad-wrong-types.yaml:3:5: openai.ci.secret_ref: wrong type: got array, want string",
				"bad-wrong-types.yaml:4:5: openai.ci.scope: wrong type: got string, want array",
				"bad-wrong-types.yaml:5:5: openai.ci.max_ttl_seconds: wrong type: got string, want integer",
				"bad-wrong-types.yaml:6:5: openai.ci.revoked: wrong type: got string, want boolean"}},
		{"duplicate keys", fixtures + "bad-duplicate-keys.yaml", okPol, exitConfig,
			[]string{"bad-duplicate-keys.yaml:6:5: openai.ci.max_ttl_seconds: duplicate key (first at line 5)",
				"bad-duplicate-keys.yaml:7:3: openai.ci: duplicate key (first at line 2)"}},
		{"malformed yaml", fixtures + "bad-malformed.yaml", okPol, exitConfig,
			[]string{"bad-malformed.yaml:5:5: invalid YAML"}},
		{"unknown scheme", fixtures + "bad-unknown-scheme.yaml", okPol, exitConfig,
			[]string{`bad-unknown-scheme.yaml:3:5: openai.ci.secret_ref: ref [as given, not shown]: has unsupported scheme "gsm"`}},
		{"typo key", fixtures + "bad-typo-key.yaml", okPol, exitConfig,
			[]string{"bad-typo-key.yaml:5:5: openai.ci.max_ttl_second: unknown key",
				"bad-typo-key.yaml:2:3: openai.ci: missing required key max_ttl_seconds"}},
		{"bad dates", fixtures + "bad-dates.yaml", okPol, exitConfig,
			[]string{"bad-dates.yaml:6:5: openai.ci.created: is not a calendar date", "bad-dates.yaml:7:5: openai.ci.last_rotated:"}},
		{"anchors", fixtures + "bad-anchor.yaml", okPol, exitConfig,
			[]string{"bad-anchor.yaml:2:7: openai.ci: YAML anchors and aliases"}},
		{"empty registry", fixtures + "bad-empty.yaml", okPol, exitConfig, []string{"bad-empty.yaml: file is empty"}},
		{"comments only", fixtures + "bad-comments-only.yaml", okPol, exitConfig, []string{"bad-comments-only.yaml: file has no content"}},
		{"non-utf8 registry", fixtures + "bad-non-utf8.yaml", okPol, exitConfig, []string{"bad-non-utf8.yaml:3:33: invalid UTF-8"}},
		{"missing registry", fixtures + "does-not-exist.yaml", okPol, exitConfig, []string{"does-not-exist.yaml: file does not exist"}},
		{"malformed json", okReg, fixtures + "bad-malformed.json", exitConfig, []string{"bad-malformed.json:6:1: invalid JSON"}},
		{"duplicate json keys", okReg, fixtures + "bad-duplicate-keys.json", exitConfig,
			[]string{"bad-duplicate-keys.json:6:3: ttl_caps_seconds: duplicate key (first at line 5)"}},
		{"value as prefix", okReg, fixtures + "bad-value-prefix.json", exitConfig,
			[]string{"bad-value-prefix.json:6:5: required_prefix.anthropic: looks like a secret value (anthropic-api-key detector)"}},
		{"token key in policy", okReg, fixtures + "bad-token-key.json", exitConfig,
			[]string{"bad-token-key.json:6:3: token: this key holds data"}},
		{"policy wrong types", okReg, fixtures + "bad-wrong-types.json", exitConfig,
			[]string{"bad-wrong-types.json:2:3: version: must be 1", "bad-wrong-types.json:3:3: allowed_secrets: wrong type",
				"bad-wrong-types.json:4:13: flags.no_logging: wrong type: got string, want boolean",
				"bad-wrong-types.json:5:24: ttl_caps_seconds.ci: wrong type: got number, want integer",
				"bad-wrong-types.json:5:37: ttl_caps_seconds.prod: must be at least 1"}},
		{"policy unknown keys", okReg, fixtures + "bad-unknown-key.json", exitConfig,
			[]string{"bad-unknown-key.json:4:33: flags.no_persistance: unknown key; known flags:",
				"bad-unknown-key.json:6:3: rotation_day: unknown key"}},
		{"unknown backend", okReg, fixtures + "bad-unknown-backend.json", exitConfig,
			[]string{"bad-unknown-backend.json:6:23: backends.kv.type: unsupported value",
				"bad-unknown-backend.json:6:40: backends.kv.name_template:"}},
		{"empty policy", okReg, fixtures + "bad-empty.json", exitConfig, []string{"bad-empty.json: file is empty"}},
		{"non-utf8 policy", okReg, fixtures + "bad-non-utf8.json", exitConfig, []string{"bad-non-utf8.json:3:28: invalid UTF-8"}},
		{"both files bad", fixtures + "bad-value-in-ref.yaml", fixtures + "bad-token-key.json", exitConfig,
			[]string{"bad-value-in-ref.yaml:4:5:", "bad-token-key.json:6:3:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, out, errb := testEnv(nil)
			code := realMain(context.Background(), []string{"check", "--registry", tt.registry, "--policy", tt.policy}, e)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.wantCode, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q\nstderr:\n%s", w, errb.String())
				}
			}
			if tt.wantCode == exitOK {
				if !strings.Contains(out.String(), "ok: ") || errb.Len() != 0 {
					t.Errorf("want an ok summary and no stderr; stdout %q stderr %q", out.String(), errb.String())
				}
			} else {
				for _, line := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
					if !strings.HasPrefix(line, "keylease: ") || !strings.Contains(line, "; ") {
						t.Errorf("problem line not in the contract's shape (keylease: FILE:LINE:COL: FIELD: why; what to do): %q", line)
					}
				}
			}
			assertNoSecret(t, out.String(), errb.String())
		})
	}
}

// TestCheckGenerated covers inputs better made at run time than committed:
// files far over the size limit, and values in places fixtures do not cover.
func TestCheckGenerated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	huge := bytes.Repeat([]byte("# "+pastedValues[0]+"\n"), 10<<20/(len(pastedValues[0])+3)+1) // > 10 MB
	okReg, okPol := fixtures+"ok-registry.yaml", fixtures+"ok-policy.json"
	tests := []struct {
		name, registry, policy string
		want                   []string
	}{
		{"10 MB registry", write("huge.yaml", huge), okPol, []string{"huge.yaml: file is ", "larger than the 1048576-byte limit"}},
		{"10 MB policy", okReg, write("huge.json", huge), []string{"huge.json: file is ", "larger than the 1048576-byte limit"}},
		{"registry is a directory", dir, okPol, []string{": is a directory"}},
		{"value as env name", write("envkey.yaml", []byte("openai:\n  "+pastedValues[6]+":\n    secret_ref: kv://a/b\n")), okPol,
			[]string{"envkey.yaml:2:3: openai.<redacted key>: a key looks like a secret value (github-token detector)"}},
		{"value in a block scalar", write("block.yaml", []byte("openai:\n  ci:\n    secret_ref: |\n      "+pastedValues[5]+"\n    scope: [a]\n    max_ttl_seconds: 60\n")), okPol,
			[]string{"block.yaml:3:5: openai.ci.secret_ref: looks like a secret value (anthropic-api-key detector)"}},
		{"value as ref in flow mapping", write("flow.yaml", []byte("{openai: {ci: {secret_ref: \"aws-sm://"+pastedValues[4]+"\", scope: [a], max_ttl_seconds: 60}}}\n")), okPol,
			[]string{"flow.yaml:1:16: openai.ci.secret_ref: looks like a secret value (aws-access-key-id detector)"}},
		{"value in policy array", okReg, write("arr.json", []byte(`{"version":1,"allowed_secrets":["openai","`+pastedValues[1]+`"],"flags":{"no_logging":true,"no_persistence":true},"ttl_caps_seconds":{"ci":900}}`)),
			[]string{"arr.json:1:42: allowed_secrets[1]: looks like a secret value (xai-api-key detector)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, out, errb := testEnv(nil)
			code := realMain(context.Background(), []string{"check", "--registry", tt.registry, "--policy", tt.policy}, e)
			if code != exitConfig {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, exitConfig, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q\nstderr:\n%s", w, errb.String())
				}
			}
			assertNoSecret(t, out.String(), errb.String())
		})
	}
}

func TestCheckAnnotationsAndSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		vars     map[string]string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{
			name:     "annotations under actions",
			args:     []string{"check", "--registry", fixtures + "bad-ttl-over-cap.yaml", "--policy", fixtures + "ok-policy.json"},
			vars:     map[string]string{"GITHUB_ACTIONS": "true"},
			wantCode: exitConfig,
			wantOut: []string{
				"::error file=" + fixtures + "bad-ttl-over-cap.yaml,line=5,col=5,title=keylease check::openai.ci.max_ttl_seconds: 3600 s exceeds",
				"::error file=" + fixtures + "bad-ttl-over-cap.yaml,line=9,col=5,title=keylease check::",
			},
			wantErr: []string{"bad-ttl-over-cap.yaml:5:5:"},
		},
		{
			name:     "annotation of a pasted value holds no value",
			args:     []string{"check", "--registry", fixtures + "bad-value-in-ref.yaml", "--policy", fixtures + "bad-value-prefix.json"},
			vars:     map[string]string{"GITHUB_ACTIONS": "true"},
			wantCode: exitConfig,
			wantOut: []string{
				"::error file=" + fixtures + "bad-value-in-ref.yaml,line=4,col=5,title=keylease check::openai.ci.secret_ref: looks like a secret value (openai-project-key detector)",
				"::error file=" + fixtures + "bad-value-prefix.json,line=6,col=5,title=keylease check::required_prefix.anthropic: looks like a secret value",
			},
		},
		{
			name:     "no annotations outside actions",
			args:     []string{"check", "--registry", fixtures + "bad-value-in-ref.yaml", "--policy", fixtures + "ok-policy.json"},
			wantCode: exitConfig,
			wantErr:  []string{"bad-value-in-ref.yaml:4:5:"},
		},
		{
			name:     "paths from KEYLEASE_ env",
			args:     []string{"check"},
			vars:     map[string]string{"KEYLEASE_REGISTRY": fixtures + "ok-registry.yaml", "KEYLEASE_POLICY": fixtures + "ok-policy.json"},
			wantCode: exitOK,
			wantOut:  []string{"ok: " + fixtures + "ok-registry.yaml and " + fixtures + "ok-policy.json are valid: 2 vendors × 2 environments (3 entries, 1 revoked)"},
		},
		{
			name:     "INPUT_ variables are not read",
			args:     []string{"check"},
			vars:     map[string]string{"GITHUB_ACTIONS": "true", "INPUT_REGISTRY": fixtures + "ok-registry.yaml", "INPUT_POLICY": fixtures + "ok-policy.json"},
			wantCode: exitConfig,
			wantErr:  []string{"configs/secrets-registry.yaml: file does not exist"},
		},
		{
			name:     "flag beats env",
			args:     []string{"check", "--registry", fixtures + "bad-empty.yaml"},
			vars:     map[string]string{"KEYLEASE_REGISTRY": fixtures + "ok-registry.yaml", "KEYLEASE_POLICY": fixtures + "ok-policy.json"},
			wantCode: exitConfig,
			wantErr:  []string{"bad-empty.yaml: file is empty"},
		},
		{
			name:     "default paths (none here)",
			args:     []string{"check"},
			wantCode: exitConfig,
			wantErr:  []string{"configs/secrets-registry.yaml: file does not exist", "configs/secrets-policy.json: file does not exist"},
		},
		{
			name:     "bad flag",
			args:     []string{"check", "--registy", "x"},
			wantCode: exitConfig,
			wantErr:  []string{"keylease: check: flag provided but not defined: -registy; run keylease check -h for the flags"},
		},
		{
			name:     "help",
			args:     []string{"check", "-h"},
			wantCode: exitOK,
			wantOut:  []string{"Usage: keylease check", "-registry"},
		},
		{
			name: "workflow refs",
			args: []string{"check", "--registry", fixtures + "ok-registry.yaml", "--policy", fixtures + "ok-policy.json",
				fixtures + "workflow-ok.yml", fixtures + "workflow-bad.yml"},
			wantCode: exitConfig,
			wantErr: []string{
				`workflow-bad.yml:14:11: jobs.test.steps[1].with.vendors: vendor "openai" in "prod" is revoked`,
				`workflow-bad.yml:21:11: jobs.test.steps[2].with.vendors: vendor "mistral" is not in allowed_secrets`,
				`workflow-bad.yml:24:11: jobs.test.steps[2].with.refs: ref "kv://openai/prod/api_key" names openai.prod, which is revoked`,
				`workflow-bad.yml:24:11: jobs.test.steps[2].with.refs: ref [as given, not shown]: has unsupported scheme "gsm"`,
				`workflow-bad.yml:32:11: jobs.deploy.steps[0].with.refs: looks like a secret value (openai-project-key detector)`,
			},
		},
		{
			name: "workflow ok",
			args: []string{"check", "--registry", fixtures + "ok-registry.yaml", "--policy", fixtures + "ok-policy.json",
				fixtures + "workflow-ok.yml"},
			wantCode: exitOK,
			wantOut:  []string{"; 1 workflow file(s) pass the workflow lint and refer only to leasable entries"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, out, errb := testEnv(tt.vars)
			code := realMain(context.Background(), tt.args, e)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out.String(), errb.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q\nstdout:\n%s", w, out.String())
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q\nstderr:\n%s", w, errb.String())
				}
			}
			if tt.vars["GITHUB_ACTIONS"] != "true" && strings.Contains(out.String(), "::error") {
				t.Errorf("annotation printed outside GitHub Actions: %q", out.String())
			}
			assertNoSecret(t, out.String(), errb.String())
		})
	}
}

func TestEscapeCommandProperty(t *testing.T) {
	t.Parallel()
	if got := escapeProperty("C:\\a,b%\n"); got != "C%3A\\a%2Cb%25%0A" {
		t.Fatalf("got %q", got)
	}
}

// TestCheckDefaultCaps: a policy with only the seed's mandatory keys passes,
// and the summary says which TTL caps are defaults.
func TestCheckDefaultCaps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	body := `{"version": 1, "allowed_secrets": ["openai", "anthropic", "xai"],
 "required_prefix": {"openai": "sk-", "anthropic": "sk-ant-", "xai": "xai-"},
 "flags": {"no_logging": true, "no_persistence": true}}`
	if err := os.WriteFile(pol, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	e, out, errb := testEnv(nil)
	code := realMain(context.Background(), []string{"check", "--registry", fixtures + "ok-registry.yaml", "--policy", pol}, e)
	if code != exitOK {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitOK, errb.String())
	}
	if want := " (default TTL caps: local/dev 3600 s, ci 900 s, prod 300 s)\n"; !strings.HasPrefix(out.String(), "ok: ") || !strings.HasSuffix(out.String(), want) {
		t.Errorf("summary %q does not end with %q", out.String(), want)
	}
	// With every cap given, nothing is said about defaults.
	e, out, _ = testEnv(nil)
	if code := realMain(context.Background(), []string{"check", "--registry", fixtures + "ok-registry.yaml", "--policy", fixtures + "ok-policy.json"}, e); code != exitOK || strings.Contains(out.String(), "default") {
		t.Errorf("exit %d, summary %q", code, out.String())
	}
	assertNoSecret(t, out.String(), errb.String())
}
