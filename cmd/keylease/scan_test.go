package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

func TestScan(t *testing.T) {
	t.Parallel()
	key, err := fakeKey("sk-proj-", 60)
	testkit.Must(t, err)
	opaque := "opaque-internal-token-0123456789" // no vendor shape: only its fingerprint finds it
	golden, err := os.ReadFile(filepath.Join("..", "..", "record", "testdata", "full.golden"))
	testkit.Must(t, err)
	sum := sha256.Sum256([]byte(opaque))

	tests := []struct {
		name     string
		files    map[string]string // relative path -> content
		args     func(dir string) []string
		wantCode int
		wantOut  string
	}{
		{"clean tree", map[string]string{"a.txt": "hello\n", "sub/b.log": "nothing here\n"},
			func(d string) []string { return []string{d} }, exitOK, "no findings"},
		{"vendor key in a nested log", map[string]string{"a.txt": "hello\n", "sub/b.log": "token=" + key + "\n"},
			func(d string) []string { return []string{d} }, exitLeak, "b.log:1:7: credential found by detector openai-project-key"},
		{"fingerprinted value", map[string]string{"c.txt": "x " + opaque + " y\n", "fp": "# ops only\n" + hex.EncodeToString(sum[:]) + " kv://internal/ci/token\n"},
			func(d string) []string {
				return []string{"--fingerprints", filepath.Join(d, "fp"), filepath.Join(d, "c.txt")}
			}, exitLeak, "fingerprint (kv://internal/ci/token)"},
		{"verified record", map[string]string{"r.json": string(golden)},
			func(d string) []string { return []string{"--record", filepath.Join(d, "r.json")} }, exitOK, "no findings"},
		{"record carrying a key", map[string]string{"r.json": strings.Replace(string(golden), `"sha": "`, `"sha": "`+key+`-`, 1)},
			func(d string) []string { return []string{"--record", filepath.Join(d, "r.json")} }, exitLeak, "openai"},
		{"not a record", map[string]string{"r.json": `{"schema":"other"}`},
			func(d string) []string { return []string{"--record", filepath.Join(d, "r.json")} }, exitLeak, ""},
		// AWS's documented example id is passed over (a public value that
		// works nowhere); an id of the same shape is not.
		{"aws documented example", map[string]string{"doc.go": "id := \"AKIAIOSFODNN7EXAMPLE\"\n"},
			func(d string) []string { return []string{d} }, exitOK, "no findings"},
		{"aws id beside the example", map[string]string{"doc.go": "id := \"AKIAIOSFODNN7EXAMPLE\"\nid2 := \"AKIAIOSFODNN7EXAMPL3\"\n"},
			func(d string) []string { return []string{d} }, exitLeak, "doc.go:2:9: credential found by detector aws-access-key-id"},
		{"both modes", nil, func(d string) []string { return []string{"--record", "x", d} }, exitConfig, ""},
		{"bad fingerprints", map[string]string{"fp": "nothex kv://x\n"},
			func(d string) []string { return []string{"--fingerprints", filepath.Join(d, "fp"), d} }, exitConfig, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for p, c := range tt.files {
				testkit.Must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o700))
				testkit.Must(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600))
			}
			e, out, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true"})
			code := realMain(context.Background(), append([]string{"scan"}, tt.args(dir)...), e)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.wantCode, out, errb)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			// What scan prints names places, never the values it found.
			set := masking.NewSet(masking.Options{})
			testkit.Must(t, set.Add(secret.FromString(key)))
			testkit.Must(t, set.Add(secret.FromString(opaque)))
			sc := masking.NewScanner(masking.ScanOptions{Set: set})
			for name, b := range map[string]string{"stdout": out.String(), "stderr": errb.String()} {
				if f := sc.Scan([]byte(b)); len(f) > 0 {
					t.Errorf("%s holds a form of a found value: %+v", name, f)
				}
				if strings.Contains(b, base64.StdEncoding.EncodeToString([]byte(key))) {
					t.Errorf("%s holds the key's base64", name)
				}
			}
		})
	}
}

// TestDemo runs `keylease demo` (the real binary): its own checks must pass,
// and nothing it printed may hold a key form. The demo's keys are random and
// unknown here, so the vendor detectors stand in for the exact forms.
func TestDemo(t *testing.T) {
	t.Parallel()
	out := demoBinaryOutput(t)
	for _, want := range []string{"PASS: the keys reached the command and nothing else.", "| `OPENAI_API_KEY` | openai |", `"schema": "keylease.run-record/v1"`, "raw:       ***"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if f := masking.NewScanner(masking.ScanOptions{Detectors: true}).Scan(out); len(f) > 0 {
		t.Errorf("demo output holds %d vendor-shaped secret(s): %+v", len(f), f)
	}
}

// TestDemoServeForSelfTest does what .github/workflows/self-test.yml does:
// `keylease demo --serve` in the background, its variables appended to the
// job's environment, then keylease exec with the action's KEYLEASE_* inputs.
func TestDemoServeForSelfTest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "emu.env")
	srv := exec.Command(keyleaseBin, "demo", "--serve", "--env-file", envFile)
	srv.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + dir}
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	testkit.Must(t, srv.Start())
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	var vars []byte
	for i := 0; len(vars) == 0; i++ {
		if i > 500 {
			t.Fatalf("no env file; server said %q", srvOut.String())
		}
		time.Sleep(10 * time.Millisecond)
		vars, _ = os.ReadFile(envFile)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(vars)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	out := filepath.Join(dir, "out")
	testkit.Must(t, os.MkdirAll(out, 0o700))
	ghOut := filepath.Join(dir, "github_output")
	testkit.Must(t, os.WriteFile(ghOut, nil, 0o600))
	env["GITHUB_ACTIONS"], env["GITHUB_OUTPUT"], env["RUNNER_TEMP"] = "true", ghOut, dir
	env["KEYLEASE_VENDOR"], env["KEYLEASE_ENV"] = "openai", "ci"
	env["KEYLEASE_REGISTRY"], env["KEYLEASE_POLICY"], env["KEYLEASE_ROLE_ARN"] = env["SELFTEST_REGISTRY"], env["SELFTEST_POLICY"], env["SELFTEST_ROLE_ARN"]
	env["AWS_CONFIG_FILE"], env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(dir, "none"), filepath.Join(dir, "none")
	env["PATH"], env["E2E_CHILD"], env["E2E_OUT"], env["E2E_VARS"] = os.Getenv("PATH"), "sha", out, "OPENAI_API_KEY"
	self, err := os.Executable()
	testkit.Must(t, err)
	cmd := exec.Command(keyleaseBin, "exec", "--", self, "-test.run=^$")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("exec against the served emulators: %v\n%s", err, b)
	}
	got, err := os.ReadFile(filepath.Join(out, "OPENAI_API_KEY.sha256"))
	testkit.Must(t, err)
	if string(got) != env["SELFTEST_KEY_SHA256"] {
		t.Errorf("child got another key than the one served")
	}
	if !bytes.Contains(b, []byte("OPENAI_API_KEY=***")) {
		t.Errorf("output %q lacks the redacted key", b)
	}
	// Canary: apart from the runner's ::add-mask:: channel, no key shape.
	var visible bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("::add-mask::")) {
			visible.Write(line)
		}
	}
	if f := masking.NewScanner(masking.ScanOptions{Detectors: true}).Scan(visible.Bytes()); len(f) > 0 {
		t.Errorf("exec output holds %d vendor-shaped secret(s): %+v", len(f), f)
	}
	testkit.Must(t, srv.Process.Signal(os.Interrupt))
}
