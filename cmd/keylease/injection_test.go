package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

// runnerLines splits output as the Actions runner reads it: a line ends at
// \n or at a bare \r.
func runnerLines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

// keyleaseCommands are the workflow commands keylease itself means to emit:
// annotations with escaped data and known properties, and the lease group.
var keyleaseCommands = regexp.MustCompile(`^::(?:` +
	`error title=keylease(?: check| scan)?::[^\r\n]*` +
	`|error file=[^:,\r\n]*(?:,line=[0-9]+(?:,col=[0-9]+)?)?,title=keylease (?:check|scan)::[^\r\n]*` +
	`|group::keylease: lease|endgroup::)$`)

// assertOnlyKeyleaseCommands fails when any stream holds a line the runner
// would execute as a workflow command other than keylease's own.
func assertOnlyKeyleaseCommands(t *testing.T, streams ...string) {
	t.Helper()
	for _, s := range streams {
		for _, line := range runnerLines(s) {
			l := strings.TrimLeft(line, " \t")
			if strings.HasPrefix(l, "::") && !keyleaseCommands.MatchString(l) {
				t.Errorf("output carries a workflow command keylease did not mean to emit: %q", l)
			}
		}
	}
}

// assertNoForms fails when any stream holds a form of v.
func assertNoForms(t *testing.T, v string, streams ...string) {
	t.Helper()
	if v == "" {
		return
	}
	for i, s := range streams {
		leakcheck.Assert(t, fmt.Sprintf("stream %d", i), []byte(s), v)
	}
}

// randomKey is a fresh OpenAI-style fake key.
func randomKey(t *testing.T, prefix string, n int) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

const (
	injected   = "\r::add-mask::x\n::warning::pwned\r::set-output name=record-path::etc-passwd"
	cfgReg     = "../../configs/secrets-registry.yaml"
	cfgPol     = "../../configs/secrets-policy.json"
	workflowOK = "jobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: keylease/keylease@v1\n        with:\n          vendors: mistral\n"
)

// TestNoWorkflowCommandInjection: user-controlled text (flags, inputs, file
// names, record contents) never starts a workflow command line on stdout or
// stderr, and no form of a secret is printed (review findings #4, #5, #6).
func TestNoWorkflowCommandInjection(t *testing.T) {
	t.Parallel()
	key := randomKey(t, "sk-proj-", 60)
	dir := t.TempDir()
	evilDir := filepath.Join(dir, "a"+injected)
	testkit.Must(t, os.MkdirAll(evilDir, 0o700))
	// A file whose name injects commands and whose content is a finding.
	testkit.Must(t, os.WriteFile(filepath.Join(evilDir, "k"+injected), []byte(key+"\n"), 0o600))
	// Valid configuration under a path that injects commands.
	for src, dst := range map[string]string{cfgReg: "reg.yaml", cfgPol: "pol.json"} {
		b, err := os.ReadFile(src)
		testkit.Must(t, err)
		testkit.Must(t, os.WriteFile(filepath.Join(evilDir, dst), b, 0o600))
	}
	wf := filepath.Join(evilDir, "wf"+injected+".yml")
	testkit.Must(t, os.WriteFile(wf, []byte(workflowOK), 0o600))
	recSchema := filepath.Join(dir, "schema.json")
	testkit.Must(t, os.WriteFile(recSchema, []byte(`{"schema":"`+key+`"}`), 0o600))
	recField := filepath.Join(dir, "field.json")
	testkit.Must(t, os.WriteFile(recField, []byte(`{"schema":"keylease.run-record/v1","`+key+`":1}`), 0o600))
	recCmd := filepath.Join(dir, "cmd.json")
	testkit.Must(t, os.WriteFile(recCmd, []byte(`{"schema":"keylease.run-record/v1","x\r::add-mask::y":1}`), 0o600))

	execArgs := func(extra ...string) []string {
		return append(append([]string{"exec", "--registry", cfgReg, "--policy", cfgPol}, extra...), "--", "true")
	}
	tests := []struct {
		name     string
		args     []string
		vars     map[string]string
		secret   string
		wantCode int
		wantErr  string
	}{
		{name: "env flag", args: execArgs("--env", "ci"+injected, "--vendor", "openai"), wantCode: exitConfig, wantErr: "--env"},
		{name: "region flag", args: execArgs("--region", "us-east-1"+injected, "--vendor", "openai"), wantCode: exitConfig, wantErr: "--region holds a control character"},
		{name: "KEYLEASE_ENV", args: execArgs("--vendor", "openai"), vars: map[string]string{"KEYLEASE_ENV": "ci" + injected},
			wantCode: exitConfig, wantErr: "KEYLEASE_ENV"},
		{name: "environment input", args: execArgs("--vendor", "openai"), vars: map[string]string{"KEYLEASE_ENV": "ci" + injected, "GITHUB_ACTIONS": "true"},
			wantCode: exitConfig, wantErr: "KEYLEASE_ENV (action input environment)"},
		{name: "env holds a key", args: execArgs("--env", key, "--vendor", "openai"), secret: key, wantCode: exitConfig, wantErr: "--env"},
		{name: "identity holds a key", args: execArgs("--identity", key, "--vendor", "openai"), secret: key, wantCode: exitConfig, wantErr: "--identity looks like a key"},
		{name: "role-arn input holds a key", args: execArgs("--vendor", "openai"), vars: map[string]string{"KEYLEASE_ROLE_ARN": key, "GITHUB_ACTIONS": "true"},
			secret: key, wantCode: exitConfig, wantErr: "KEYLEASE_ROLE_ARN (action input role-to-assume) looks like a key"},
		{name: "ttl holds a key", args: execArgs("--vendor", "openai"), vars: map[string]string{"KEYLEASE_TTL": key}, secret: key, wantCode: exitConfig, wantErr: "KEYLEASE_TTL"},
		{name: "ref name holds a key", args: execArgs("--ref", "AKIAIOSFODNN7EXAMPLE=kv://openai/ci/api_key"), secret: "AKIAIOSFODNN7EXAMPLE", wantCode: exitConfig, wantErr: "not shown"},
		{name: "ref holds an AWS secret", args: execArgs("--ref", "X=wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa"), secret: "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa",
			wantCode: exitConfig, wantErr: "looks like a secret value"},
		{name: "vendor", args: execArgs("--vendor", "x"+injected), wantCode: exitLease, wantErr: "refused"},
		{name: "registry path", args: []string{"exec", "--registry", filepath.Join(dir, "nope"+injected), "--vendor", "openai", "--", "true"},
			wantCode: exitConfig},
		{name: "unknown flag", args: []string{"exec", "--x" + injected, "--", "true"}, wantCode: exitConfig, wantErr: "flag provided but not defined"},
		{name: "scan unknown flag", args: []string{"scan", "--x" + injected}, wantCode: exitConfig, wantErr: "flag provided but not defined"},
		{name: "unknown command", args: []string{"x" + injected}, wantCode: exitConfig, wantErr: "unknown command"},
		{name: "check workflow file name", args: []string{"check", "--registry", cfgReg, "--policy", cfgPol, wf}, wantCode: exitConfig, wantErr: "mistral"},
		{name: "check missing workflow", args: []string{"check", "--registry", cfgReg, "--policy", cfgPol, wf + injected}, wantCode: exitConfig},
		{name: "check ok paths", args: []string{"check", "--registry", filepath.Join(evilDir, "reg.yaml"), "--policy", filepath.Join(evilDir, "pol.json")},
			wantCode: exitOK},
		{name: "check bad paths", args: []string{"check", "--registry", filepath.Join(evilDir, "none.yaml"), "--policy", filepath.Join(evilDir, "none.json")},
			wantCode: exitConfig},
		{name: "scan file name", args: []string{"scan", "--policy", cfgPol, dir}, secret: key, wantCode: exitLeak, wantErr: "scan found"},
		{name: "scan missing path", args: []string{"scan", "--policy", cfgPol, filepath.Join(dir, "none"+injected)}, wantCode: exitConfig},
		{name: "scan record schema", args: []string{"scan", "--policy", cfgPol, "--record", recSchema}, secret: key, wantCode: exitLeak, wantErr: "schema"},
		{name: "scan record field", args: []string{"scan", "--policy", cfgPol, "--record", recField}, secret: key, wantCode: exitLeak, wantErr: "unknown field"},
		{name: "scan record command", args: []string{"scan", "--policy", cfgPol, "--record", recCmd}, wantCode: exitLeak, wantErr: "unknown field"},
		{name: "scan record path", args: []string{"scan", "--policy", cfgPol, "--record", filepath.Join(dir, "none"+injected)}, wantCode: exitConfig},
		{name: "record path", args: execArgs("--record", filepath.Join(dir, "rec"+injected, "r.json"), "--vendor", "x"), wantCode: exitConfig, wantErr: "--record holds a control character"},
		{name: "fingerprints path", args: []string{"scan", "--fingerprints", filepath.Join(dir, "none"+injected), dir}, wantCode: exitConfig},
	}
	for _, tt := range tests {
		for _, onActions := range []bool{true, false} {
			t.Run(tt.name+map[bool]string{true: " on actions", false: ""}[onActions], func(t *testing.T) {
				t.Parallel()
				vars := map[string]string{"RUNNER_TEMP": t.TempDir()}
				if onActions {
					vars["GITHUB_ACTIONS"] = "true"
				} else if tt.vars["GITHUB_ACTIONS"] != "" {
					t.Skip("the action's input names are shown only under GitHub Actions")
				}
				for k, v := range tt.vars {
					vars[k] = v
				}
				e, out, errb := testEnv(vars)
				code := realMain(context.Background(), tt.args, e)
				if code != tt.wantCode {
					t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, errb.String())
				}
				if !strings.Contains(errb.String(), tt.wantErr) {
					t.Errorf("stderr %q, want it to mention %q", errb.String(), tt.wantErr)
				}
				assertOnlyKeyleaseCommands(t, out.String(), errb.String())
				assertNoForms(t, tt.secret, out.String(), errb.String())
				if strings.Contains(out.String()+errb.String(), "\r") {
					t.Errorf("output holds a carriage return: stdout %q stderr %q", out.String(), errb.String())
				}
			})
		}
	}
}

// TestVendorKeyExitCode: a key pasted as --vendor is refused without being
// printed; the refused lease's record holds it, so the record scan reports a
// leak and exec exits 4, the same code as the step's exit-code output
// (review finding #7; before the fix the registry classifier said 3).
func TestVendorKeyExitCode(t *testing.T) {
	t.Parallel()
	for _, key := range []string{randomKey(t, "sk-proj-", 60), randomKey(t, "sk-ant-api03-", 80), "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa"} {
		t.Run(key[:4], func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			outFile := filepath.Join(dir, "output")
			testkit.Must(t, os.WriteFile(outFile, nil, 0o600))
			e, out, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": dir, "GITHUB_OUTPUT": outFile})
			code := realMain(context.Background(), []string{"exec", "--registry", cfgReg, "--policy", cfgPol, "--vendor", key, "--", "true"}, e)
			if code != exitLeak {
				t.Errorf("exit %d, want %d; stderr %q", code, exitLeak, errb.String())
			}
			b, err := os.ReadFile(outFile)
			testkit.Must(t, err)
			if !strings.Contains(string(b), "exit-code") || !strings.Contains(string(b), "\n4\n") && !strings.Contains(string(b), "exit-code=4") {
				t.Errorf("exit-code output is not 4: %q", b)
			}
			if !strings.Contains(errb.String(), "looks like a key") {
				t.Errorf("stderr %q does not say the vendor looks like a key", errb.String())
			}
			assertNoForms(t, key, out.String(), errb.String(), string(b))
			assertOnlyKeyleaseCommands(t, out.String(), errb.String())
			// Nothing keylease left on disk holds it either (the record is withheld).
			root, err := os.OpenRoot(dir)
			testkit.Must(t, err)
			defer func() { _ = root.Close() }()
			files := 0
			testkit.Must(t, fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				rb, err := fs.ReadFile(root.FS(), p)
				testkit.Must(t, err)
				files++
				assertNoForms(t, key, string(rb))
				var v map[string]any
				if strings.HasSuffix(p, ".json") && json.Unmarshal(rb, &v) != nil {
					t.Errorf("%s is not JSON", filepath.Base(p))
				}
				return nil
			}))
			if files == 0 {
				t.Error("no incident record was written")
			}
		})
	}
}

// TestVendorKeyExitCodeBinary drives the real binary as the runner does: a
// key pasted as the vendors input exits 4, the exit-code output says 4, and
// neither stream nor the outputs file holds the key.
func TestVendorKeyExitCodeBinary(t *testing.T) {
	t.Parallel()
	key := randomKey(t, "sk-proj-", 60)
	dir := t.TempDir()
	outFile := filepath.Join(dir, "output")
	testkit.Must(t, os.WriteFile(outFile, nil, 0o600))
	reg, err := filepath.Abs(cfgReg)
	testkit.Must(t, err)
	pol, err := filepath.Abs(cfgPol)
	testkit.Must(t, err)
	cmd := exec.Command(keyleaseBin, "exec", "--", "true")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_ACTIONS=true", "RUNNER_TEMP=" + dir, "GITHUB_OUTPUT=" + outFile,
		"KEYLEASE_REGISTRY=" + reg, "KEYLEASE_POLICY=" + pol, "KEYLEASE_VENDOR=" + key, "KEYLEASE_ENV=ci"}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitLeak {
		t.Errorf("keylease exec: %v, want exit %d; stderr %q", err, exitLeak, stderr.String())
	}
	b, err := os.ReadFile(outFile)
	testkit.Must(t, err)
	if !regexp.MustCompile(`(?s)exit-code<<(\S+)\n4\n`).Match(b) {
		t.Errorf("exit-code output is not 4: %q", b)
	}
	assertNoForms(t, key, stdout.String(), stderr.String(), string(b))
	assertOnlyKeyleaseCommands(t, stdout.String(), stderr.String())
}
