package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

// guardRun runs keylease in-process as a step on a runner would, with
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, and checks that no form of key (nor
// the variable name a key used as a vendor becomes) is in stdout (where the
// ::error annotation goes), stderr, the outputs (record-path among them) or
// the job summary. It returns the exit code and stderr.
func guardRun(t *testing.T, key string, vars map[string]string, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	outFile, sumFile := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	testkit.Must(t, os.WriteFile(outFile, nil, 0o600))
	testkit.Must(t, os.WriteFile(sumFile, nil, 0o600))
	env := map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": dir, "GITHUB_OUTPUT": outFile, "GITHUB_STEP_SUMMARY": sumFile}
	for k, v := range vars {
		env[k] = v
	}
	e, out, errb := testEnv(env)
	code := realMain(context.Background(), args, e)
	outputs, err := os.ReadFile(outFile)
	testkit.Must(t, err)
	summary, err := os.ReadFile(sumFile)
	testkit.Must(t, err)
	asVar := strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
	for name, b := range map[string][]byte{"stdout (::error)": out.Bytes(), "stderr": errb.Bytes(),
		"GITHUB_OUTPUT (record-path)": outputs, "GITHUB_STEP_SUMMARY": summary} {
		leakcheck.Assert(t, name, b, key, asVar)
	}
	if !strings.Contains(out.String(), "::error") {
		t.Errorf("no ::error annotation; the test shows nothing: stdout %q", out.String())
	}
	return code, errb.String()
}

// TestKeyInANamingInputIsNeverWritten: a key pasted into vendors or refs is
// refused (exit 4, the record withheld) and appears nowhere: before the fix
// the summary showed it in the vendor column and, upper-cased, as the
// variable.
func TestKeyInANamingInputIsNeverWritten(t *testing.T) {
	t.Parallel()
	key := randomKey(t, "sk-proj-", 60)
	for name, args := range map[string][]string{
		"vendor":         {"--vendor", key},
		"vendor and ok":  {"--vendor", "openai," + key},
		"ref":            {"--ref", key},
		"ref as envvar":  {"--ref", key + "=kv://openai/ci/api_key"},
		"ref in the ref": {"--ref", "OPENAI_API_KEY=kv://openai/ci/" + key},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			full := append([]string{"exec", "--registry", cfgReg, "--policy", cfgPol}, args...)
			code, stderr := guardRun(t, key, nil, append(full, "--", "true")...)
			if code != exitLeak && code != exitConfig {
				t.Errorf("exit %d, want %d or %d; stderr %q", code, exitLeak, exitConfig, stderr)
			}
		})
	}
}

// TestKeyInAPathSettingIsNeverWritten: a key pasted into registry, policy,
// record or the command's directory (flag or KEYLEASE_* as the action sets
// it) is refused and not repeated: before the fix it was echoed on stderr,
// in ::error, in the record-path output and in the summary.
func TestKeyInAPathSettingIsNeverWritten(t *testing.T) {
	t.Parallel()
	key := randomKey(t, "sk-proj-", 60)
	at := func(name string) string { return filepath.Join(t.TempDir(), name) }
	for name, tc := range map[string]struct {
		vars map[string]string
		args []string
	}{
		"registry":          {nil, []string{"--registry", at(key + ".yaml"), "--policy", cfgPol}},
		"policy":            {nil, []string{"--registry", cfgReg, "--policy", at(key)}},
		"record":            {nil, []string{"--registry", cfgReg, "--policy", cfgPol, "--record", at(key + ".json")}},
		"dir":               {nil, []string{"--registry", cfgReg, "--policy", cfgPol, "--dir", at(key)}},
		"KEYLEASE_REGISTRY": {map[string]string{"KEYLEASE_REGISTRY": "/home/runner/work/app/app/" + key}, []string{"--policy", cfgPol}},
		"KEYLEASE_RECORD":   {map[string]string{"KEYLEASE_RECORD": at(key + ".json")}, []string{"--registry", cfgReg, "--policy", cfgPol}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"exec"}, tc.args...), "--vendor", "openai", "--", "true")
			code, stderr := guardRun(t, key, tc.vars, args...)
			if code != exitConfig {
				t.Errorf("exit %d, want %d; stderr %q", code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, "looks like a key") {
				t.Errorf("stderr %q does not say the setting looks like a key", stderr)
			}
		})
	}
}

// TestScanNeverRepeatsAKeyInAPath: scan's path arguments and the names of
// the files it walks are shown guarded, on stdout, stderr and in ::error
// file=... (before the fix the path was printed as it is).
func TestScanNeverRepeatsAKeyInAPath(t *testing.T) {
	t.Parallel()
	key := randomKey(t, "sk-proj-", 60)
	inFile := randomKey(t, "sk-ant-api03-", 80) // what the file holds: a finding
	dir := t.TempDir()
	testkit.Must(t, os.WriteFile(filepath.Join(dir, key+".txt"), []byte("leaked "+inFile+"\n"), 0o600))
	for name, args := range map[string][]string{
		"file name": {"scan", dir},
		"argument":  {"scan", filepath.Join(dir, "missing", key)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stderr := guardRun(t, key, nil, args...)
			if code != exitLeak && code != exitConfig {
				t.Errorf("exit %d; stderr %q", code, stderr)
			}
		})
	}
}

// TestExecDir: --dir (KEYLEASE_DIR, the action's working-directory) is
// where the command runs; a missing one is refused before any lease.
func TestExecDir(t *testing.T) {
	t.Parallel()
	e, _, errb := testEnv(map[string]string{"RUNNER_TEMP": t.TempDir(), "KEYLEASE_DIR": filepath.Join(t.TempDir(), "missing")})
	code := realMain(context.Background(), []string{"exec", "--registry", cfgReg, "--policy", cfgPol, "--vendor", "openai", "--", "true"}, e)
	if code != exitConfig || !strings.Contains(errb.String(), "KEYLEASE_DIR") || !strings.Contains(errb.String(), "not a directory") {
		t.Errorf("exit %d, stderr %q; want %d naming KEYLEASE_DIR", code, errb.String(), exitConfig)
	}
	o, err := parseExec([]string{"--dir", t.TempDir(), "--", "pwd"}, &env{getenv: func(string) string { return "" }})
	if err != nil || o.Dir == "" {
		t.Errorf("--dir of an existing directory: %v, Dir %q", err, o.Dir)
	}
}

// TestActionPassesOnlyExecFlags: every KEYLEASE_* variable action.yml sets
// for keylease is one that exec reads (the action passes its inputs that
// way only), so no input is silently dropped.
func TestActionPassesOnlyExecFlags(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../action.yml")
	testkit.Must(t, err)
	read := map[string]bool{}
	for _, f := range execFlags {
		read[envName(f.name)] = true
	}
	// KEYLEASE_SECRETS_ENV is no flag: the env:// store reads it (store/env).
	shellOnly := map[string]bool{"KEYLEASE_BIN": true, "KEYLEASE_RUN": true, "KEYLEASE_SHELL": true, "KEYLEASE_SECRETS_ENV": true}
	n := 0
	for _, m := range regexp.MustCompile(`(?m)^\s+(KEYLEASE_[A-Z_]+):`).FindAllStringSubmatch(string(b), -1) {
		n++
		if !read[m[1]] && !shellOnly[m[1]] {
			t.Errorf("action.yml sets %s, which exec does not read", m[1])
		}
	}
	if n < 10 {
		t.Fatalf("found %d KEYLEASE_* variables in action.yml; the test shows nothing", n)
	}
}
