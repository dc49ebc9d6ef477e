package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/stsfake"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/secret"
)

// keyleaseBin is the real binary, built once by TestMain; the tests drive it
// as the runner does: environment variables and GITHUB_* files in a temp dir.
var keyleaseBin string

func TestMain(m *testing.M) {
	if mode := os.Getenv("E2E_CHILD"); mode != "" {
		os.Exit(e2eChild(mode))
	}
	dir, err := os.MkdirTemp("", "keylease-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keyleaseBin = filepath.Join(dir, "keylease")
	if runtime.GOOS == "windows" {
		keyleaseBin += ".exe"
	}
	build := exec.Command("go", "build", "-o", keyleaseBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build keylease:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// e2eChild is the leased command (the test binary re-executed). It proves
// receipt by writing sha256(value) to E2E_OUT, and misbehaves on request.
func e2eChild(mode string) int {
	out := os.Getenv("E2E_OUT")
	vars := strings.Split(os.Getenv("E2E_VARS"), ",")
	write := func(name, s string) { _ = os.WriteFile(filepath.Join(out, name), []byte(s), 0o600) }
	switch mode {
	case "sha":
		var minting []string
		for _, k := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_ENV", "GITHUB_OUTPUT"} {
			if os.Getenv(k) != "" {
				minting = append(minting, k)
			}
		}
		write("minting", strings.Join(minting, ","))
		write("expires", os.Getenv("KEYLEASE_EXPIRES_AT"))
		for _, v := range vars {
			val := os.Getenv(v)
			sum := sha256.Sum256([]byte(val))
			write(v+".sha256", hex.EncodeToString(sum[:]))
			// Careless output the redactor must catch.
			fmt.Printf("%s=%s\n", v, val)
			fmt.Fprintf(os.Stderr, "%s b64 %s\n", v, base64.StdEncoding.EncodeToString([]byte(val)))
		}
		n, _ := strconv.Atoi(os.Getenv("E2E_EXIT"))
		return n
	case "sleep":
		write("ready", "1")
		time.Sleep(time.Minute)
		return 0
	case "trap-int":
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt)
		write("ready", "1")
		select {
		case <-c:
			write("got-sigint", "1")
			return 130
		case <-time.After(time.Minute):
			return 0
		}
	case "selfkill":
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill()
		time.Sleep(time.Minute)
		return 0
	case "both":
		val := os.Getenv(vars[0])
		var wg sync.WaitGroup
		for _, f := range []*os.File{os.Stdout, os.Stderr} {
			wg.Add(1)
			go func(f *os.File) {
				defer wg.Done()
				for i := range 1000 {
					fmt.Fprintf(f, "line %d %s end\n", i, val)
				}
			}(f)
		}
		wg.Wait()
		return 0
	case "persist":
		f, err := os.OpenFile(os.Getenv("E2E_GITHUB_ENV"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return 9
		}
		fmt.Fprintf(f, "LEAKED=%s\n", os.Getenv(vars[0]))
		_ = f.Close()
		return 0
	case "flood":
		total, _ := strconv.ParseInt(os.Getenv("E2E_BYTES"), 10, 64)
		val := os.Getenv(vars[0])
		line := floodLine()
		w := bufio.NewWriterSize(os.Stdout, 64<<10)
		for sent := int64(0); sent < total; sent += int64(len(line)) {
			_, _ = w.Write(line[:len(line)/2])
			_, _ = w.WriteString(val)
			_, _ = w.Write(line[len(line)/2:])
		}
		_ = w.Flush()
		return 0
	case "exit0":
		return 0
	}
	if f, ok := e2eMoreModes[mode]; ok {
		return f()
	}
	return 99
}

// e2eMoreModes are child modes defined by other e2e test files.
var e2eMoreModes = map[string]func() int{}

// floodLine is the ~1 MiB chunk of the flood child; a key goes in its middle.
func floodLine() []byte {
	return bytes.Repeat([]byte("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\n"), 1<<14)
}

// e2e is one run's world: emulators, keys, registry, policy, runner files.
type e2e struct {
	t     testing.TB
	stack *emulators.Stack
	dir   string // everything the run may leave lives under here
	out   string // the child's proof of receipt
	env   map[string]string
	keys  map[string]string // env var -> seeded value
	extra []string          // more values the canary looks for (e.g. a static AWS secret key)
	// issued are emulators' lists of the secrets they issued or were
	// presented (minted keys, federated tokens, OIDC assertions), read when
	// the canary runs.
	issued  []func() []string
	files   map[string]string // GITHUB_* -> path
	envVars []string
}

var e2eVendors = map[string]struct{ envVar, prefix string }{
	"openai":    {"OPENAI_API_KEY", "sk-proj-"},
	"anthropic": {"ANTHROPIC_API_KEY", "sk-ant-api03-"},
	"xai":       {"XAI_API_KEY", "xai-"},
}

const e2eRegistry = `openai:
  ci:
    secret_ref: "kv://openai/ci/api_key"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
anthropic:
  ci:
    secret_ref: "kv://anthropic/ci/api_key"
    scope: ["llm:messages"]
    max_ttl_seconds: 600
xai:
  ci:
    secret_ref: "kv://xai/ci/api_key"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
`

func newE2E(t testing.TB, vendors ...string) *e2e {
	t.Helper()
	stack, stackEnv := testkit.Stack(t)
	dir := t.TempDir()
	r := &e2e{t: t, stack: stack, dir: dir, out: filepath.Join(dir, "child-out"), env: map[string]string{},
		keys: map[string]string{}, files: map[string]string{}}
	testkit.Must(t, os.MkdirAll(r.out, 0o700))
	testkit.Must(t, os.MkdirAll(filepath.Join(dir, "runner-temp"), 0o700))
	policy := `{"version":1,"allowed_secrets":["openai","anthropic","xai"],
"required_prefix":{"openai":"sk-","anthropic":"sk-ant-","xai":"xai-"},
"flags":{"no_logging":true,"no_persistence":true},
"ttl_caps_seconds":{"local":3600,"dev":3600,"ci":900,"prod":300},
"rotation_days":{"dev":30,"ci":30,"prod":14},
"backends":{"kv":{"type":"aws-secretsmanager","name_template":"{path}"}}}`
	testkit.WriteFile(t, filepath.Join(dir, "registry.yaml"), e2eRegistry)
	testkit.WriteFile(t, filepath.Join(dir, "policy.json"), policy)
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE"} {
		r.files[name] = filepath.Join(dir, strings.ToLower(name))
		testkit.WriteFile(t, r.files[name], "PRE=existing\n")
		r.env[name] = r.files[name]
	}
	for k, v := range stackEnv {
		r.env[k] = v
	}
	for k, v := range map[string]string{
		"PATH": os.Getenv("PATH"), "SYSTEMROOT": os.Getenv("SYSTEMROOT"),
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_WORKFLOW": "ci", "GITHUB_JOB": "test", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": strings.Repeat("a", 40),
		"GITHUB_ACTOR": "octocat", "GITHUB_EVENT_NAME": "push", "RUNNER_TEMP": filepath.Join(dir, "runner-temp"),
		"KEYLEASE_REGISTRY": filepath.Join(dir, "registry.yaml"), "KEYLEASE_POLICY": filepath.Join(dir, "policy.json"),
		"AWS_CONFIG_FILE": filepath.Join(dir, "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-aws-creds"),
		"E2E_OUT": r.out, "GORACE": "atexit_sleep_ms=0",
	} {
		r.env[k] = v
	}
	r.extra = append(r.extra, stack.OIDC.RequestToken())
	for _, v := range vendors {
		r.seed(v, "")
	}
	return r
}

// seed stores a random key for vendor; value "" means a well-formed one.
func (r *e2e) seed(vendor, value string) {
	r.t.Helper()
	ev := e2eVendors[vendor]
	if value == "" {
		k, err := fakeKey(ev.prefix, 60)
		testkit.Must(r.t, err)
		value = k
	}
	r.stack.Seed(vendor+"/ci/api_key", value)
	r.keys[ev.envVar] = value
	r.envVars = append(r.envVars, ev.envVar)
	r.env["E2E_VARS"] = strings.Join(r.envVars, ",")
}

type e2eResult struct {
	code           int
	stdout, stderr []byte
	outputs        map[string]string
}

// start launches keylease exec with the test binary as the child.
func (r *e2e) command(mode string, args ...string) *exec.Cmd {
	r.env["E2E_CHILD"] = mode
	self, err := os.Executable()
	testkit.Must(r.t, err)
	full := append([]string{"exec"}, args...)
	full = append(full, "--", self, "-test.run=^$")
	cmd := exec.Command(keyleaseBin, full...)
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

func (r *e2e) run(mode string, args ...string) e2eResult {
	r.t.Helper()
	return r.runCmd(r.command(mode, args...))
}

// runCmd runs cmd, collects its outputs and passes them through the canary.
func (r *e2e) runCmd(cmd *exec.Cmd) e2eResult {
	r.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.t.Fatal(err)
	}
	res := e2eResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.Bytes(), stderr: stderr.Bytes(), outputs: r.outputs()}
	r.canary(res)
	return res
}

// outputs parses GITHUB_OUTPUT's heredocs.
func (r *e2e) outputs() map[string]string {
	b, err := os.ReadFile(r.files["GITHUB_OUTPUT"])
	testkit.Must(r.t, err)
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// canary reads everything the run left (stdout without the runner's
// ::add-mask:: channel, stderr, every file under the temp dir: GITHUB_*
// files, the record, the child's proof) and fails on any form of any seeded
// value, the OIDC tokens STS saw, or a vendor-shaped key.
func (r *e2e) canary(res e2eResult) {
	r.t.Helper()
	set := masking.NewSet(masking.Options{AllowShort: true})
	for _, v := range r.keys {
		testkit.Must(r.t, set.Add(secret.FromString(v)))
	}
	for _, v := range r.extra {
		testkit.Must(r.t, set.Add(secret.FromString(v)))
	}
	for _, list := range r.issued {
		for _, v := range list() {
			testkit.Must(r.t, set.Add(secret.FromString(v)))
		}
	}
	fps := map[string]string{}
	for _, f := range r.stack.STS.TokenFingerprints() {
		fps[f] = "oidc-token"
	}
	sc := masking.NewScanner(masking.ScanOptions{Set: set, Detectors: true, Fingerprints: fps})
	var visible bytes.Buffer
	for _, line := range bytes.SplitAfter(res.stdout, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("::add-mask::")) {
			visible.Write(line)
		}
	}
	if f := sc.Scan(visible.Bytes()); len(f) > 0 {
		r.t.Errorf("stdout holds %d secret form(s): %+v", len(f), f)
	}
	if f := sc.Scan(res.stderr); len(f) > 0 {
		r.t.Errorf("stderr holds %d secret form(s): %+v", len(f), f)
	}
	_ = filepath.WalkDir(r.dir, func(p string, d os.DirEntry, err error) error {
		testkit.Must(r.t, err)
		if d.IsDir() {
			return nil
		}
		f, err := sc.ScanFile(p)
		testkit.Must(r.t, err)
		if len(f) > 0 {
			r.t.Errorf("%s holds %d secret form(s): %+v", p, len(f), f)
		}
		return nil
	})
}

// received asserts the child got each value (by sha256, never the value).
func (r *e2e) received() {
	r.t.Helper()
	for v, val := range r.keys {
		got, err := os.ReadFile(filepath.Join(r.out, v+".sha256"))
		if err != nil {
			r.t.Fatalf("child did not report %s: %v", v, err)
		}
		sum := sha256.Sum256([]byte(val))
		if string(got) != hex.EncodeToString(sum[:]) {
			r.t.Errorf("child received a different %s", v)
		}
	}
}

func (r *e2e) childRan() bool {
	ents, _ := os.ReadDir(r.out)
	return len(ents) > 0
}

func TestExecHappyPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vendors []string
	}{
		{"one vendor", []string{"openai"}},
		{"three vendors", []string{"openai", "anthropic", "xai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, tt.vendors...)
			args := []string{}
			for _, v := range tt.vendors {
				args = append(args, "--vendor", v)
			}
			res := r.run("sha", args...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
			}
			r.received()
			if m, _ := os.ReadFile(filepath.Join(r.out, "minting")); len(m) != 0 {
				t.Errorf("child saw %s", m)
			}
			// Registration precedes the child's first byte.
			if i, j := bytes.LastIndex(res.stdout, []byte("::add-mask::")), bytes.Index(res.stdout, []byte("_API_KEY=***")); i < 0 || j < 0 || i > j {
				t.Errorf("::add-mask:: at %d, child output at %d: registration must come first", i, j)
			}
			if got := bytes.Count(res.stdout, []byte("_API_KEY=***")); got != len(tt.vendors) {
				t.Errorf("%d redacted lines on stdout, want %d", got, len(tt.vendors))
			}
			if res.outputs["exit-code"] != "0" {
				t.Errorf("exit-code output %q", res.outputs["exit-code"])
			}
			exp, _ := os.ReadFile(filepath.Join(r.out, "expires"))
			if res.outputs["lease-expires-at"] == "" || res.outputs["lease-expires-at"] != string(exp) {
				t.Errorf("lease-expires-at %q, child was told %q", res.outputs["lease-expires-at"], exp)
			}
			b, err := os.ReadFile(res.outputs["record-path"])
			testkit.Must(t, err)
			rec, err := record.Decode(b)
			testkit.Must(t, err)
			if len(rec.Leases) != len(tt.vendors) || rec.Command.ExitCode != 0 || rec.Identity == nil || rec.Session.SessionName != "keylease-4242-1" {
				t.Errorf("record %+v", rec)
			}
			if fi, _ := os.Stat(res.outputs["record-path"]); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("record mode %v", fi.Mode().Perm())
			}
			summary, _ := os.ReadFile(r.files["GITHUB_STEP_SUMMARY"])
			if !bytes.Contains(summary, []byte("| `OPENAI_API_KEY` | openai |")) {
				t.Errorf("summary lacks the lease table:\n%s", summary)
			}
			if env, _ := os.ReadFile(r.files["GITHUB_ENV"]); string(env) != "PRE=existing\n" {
				t.Errorf("GITHUB_ENV changed: %q", env)
			}
		})
	}
}

func TestExecLeaseFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(r *e2e)
		args    []string
		want    string // in stderr
		wantOut string // in stdout (::error annotation)
	}{
		{"missing id-token permission", func(r *e2e) {
			delete(r.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
			delete(r.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		}, nil, "permissions: id-token: write", "::error title=keylease::"},
		{"wrong audience", func(r *e2e) { r.stack.STS.SetAudience("api://someone-else") }, nil, "audience", ""},
		{"sts access denied", func(r *e2e) {
			r.stack.STS.Faults.Add(fault.Rule{Op: stsfake.OpAssumeRoleWithWebIdentity, Kind: fault.Error, Status: 403, Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"})
		}, nil, "AccessDenied", ""},
		{"secret not found", func(*e2e) {}, []string{"--vendor", "anthropic"}, "ResourceNotFoundException", ""},
		{"prefix mismatch", func(r *e2e) { r.seed("xai", "not-an-xai-key-0123456789abcdefghijklmnopqrstuvwxyzABCD") }, []string{"--vendor", "xai"}, "prefix", ""},
		{"policy refusal", func(*e2e) {}, []string{"--vendor", "openai", "--env", "prod"}, "refused", ""},
		// A body that drips one byte a second would cost each stage its
		// attempt timeout, and the stages add up: one deadline ends it.
		{"setup deadline", func(r *e2e) {
			r.stack.STS.Faults.Add(fault.Rule{Op: stsfake.OpAssumeRoleWithWebIdentity, Kind: fault.Drip, Delay: time.Second})
		}, []string{"--vendor", "openai", "--setup-timeout", "2s"}, "during sts; raise --setup-timeout", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			tt.setup(r)
			args := tt.args
			if args == nil {
				args = []string{"--vendor", "openai"}
			}
			res := r.run("sha", args...)
			if res.code != exitLease {
				t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
			}
			if !strings.Contains(string(res.stderr), tt.want) {
				t.Errorf("stderr %q, want %q", res.stderr, tt.want)
			}
			if !bytes.Contains(res.stdout, []byte(tt.wantOut)) {
				t.Errorf("stdout %q, want %q", res.stdout, tt.wantOut)
			}
			if r.childRan() {
				t.Error("the child ran although the lease failed")
			}
			if res.outputs["exit-code"] != "3" {
				t.Errorf("exit-code output %q", res.outputs["exit-code"])
			}
			// The failed lease is on record (value-free, verified).
			b, err := os.ReadFile(res.outputs["record-path"])
			testkit.Must(t, err)
			rec, err := record.Decode(b)
			testkit.Must(t, err)
			if len(rec.Leases) == 0 || rec.Command != nil {
				t.Fatalf("record leases %+v command %+v", rec.Leases, rec.Command)
			}
			for _, l := range rec.Leases {
				if l.Outcome == record.OutcomeLeased || l.Error == "" {
					t.Errorf("lease %+v recorded as leased or without a reason", l)
				}
			}
		})
	}
}

func TestExecUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ttl above cap", []string{"--vendor", "openai", "--ttl", "1000"}, "--ttl 1000s exceeds"},
		{"two leases one variable", []string{"--vendor", "openai", "--ref", "OPENAI_API_KEY=kv://openai/ci/api_key"}, "two leases into OPENAI_API_KEY"},
		{"grace too long", []string{"--vendor", "openai", "--grace", "11"}, "--grace"},
		{"bad identity", []string{"--vendor", "openai", "--identity", "magic"}, "--identity"},
		{"bad ttl", []string{"--vendor", "openai", "--ttl", "soon"}, "--ttl"},
		{"reserved variable", []string{"--ref", "AWS_SECRET_ACCESS_KEY=kv://openai/ci/api_key"}, "AWS_SECRET_ACCESS_KEY is reserved"},
		{"forged deadline variable", []string{"--ref", "KEYLEASE_EXPIRES_AT=kv://openai/ci/api_key"}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			res := r.run("sha", tt.args...)
			if res.code != exitConfig || !strings.Contains(string(res.stderr), tt.want) {
				t.Fatalf("exit %d stderr %q, want 2 and %q", res.code, res.stderr, tt.want)
			}
			if r.childRan() {
				t.Error("the child ran")
			}
		})
	}
}

func TestExecChildOutcomes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	tests := []struct {
		name     string
		mode     string
		args     []string
		env      map[string]string
		wantCode int
		check    func(t *testing.T, r *e2e, res e2eResult, rec *record.Record)
	}{
		{"exit code propagates", "sha", nil, map[string]string{"E2E_EXIT": "42"}, 42, func(t *testing.T, r *e2e, _ e2eResult, rec *record.Record) {
			r.received()
			if rec.Command.ExitCode != 42 {
				t.Errorf("record exit %d", rec.Command.ExitCode)
			}
		}},
		{"crash by signal", "selfkill", nil, nil, 128 + 9, func(t *testing.T, _ *e2e, _ e2eResult, rec *record.Record) {
			if rec.Command.Signal != 9 {
				t.Errorf("record signal %d", rec.Command.Signal)
			}
		}},
		{"ttl expiry ends the child", "sleep", []string{"--ttl", "2", "--grace", "1"}, nil, 124, func(t *testing.T, _ *e2e, _ e2eResult, rec *record.Record) {
			if !rec.Command.LeaseExpired || rec.Command.DurationMS < 1000 {
				t.Errorf("record command %+v", rec.Command)
			}
		}},
		{"persisting to GITHUB_ENV is rolled back", "persist", nil, nil, exitLeak, func(t *testing.T, r *e2e, res e2eResult, _ *record.Record) {
			if env, _ := os.ReadFile(r.files["GITHUB_ENV"]); string(env) != "PRE=existing\n" {
				t.Errorf("GITHUB_ENV %q not rolled back", env)
			}
			if !strings.Contains(string(res.stderr), "GITHUB_ENV") {
				t.Errorf("stderr %q does not name GITHUB_ENV", res.stderr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			r.env["E2E_GITHUB_ENV"] = r.files["GITHUB_ENV"]
			for k, v := range tt.env {
				r.env[k] = v
			}
			res := r.run(tt.mode, append([]string{"--vendor", "openai"}, tt.args...)...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", res.code, tt.wantCode, res.stderr)
			}
			if res.outputs["exit-code"] != strconv.Itoa(tt.wantCode) {
				t.Errorf("exit-code output %q", res.outputs["exit-code"])
			}
			b, err := os.ReadFile(res.outputs["record-path"])
			testkit.Must(t, err)
			rec, err := record.Decode(b)
			testkit.Must(t, err)
			tt.check(t, r, res, rec)
		})
	}
}

func TestExecCtrlC(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	r := newE2E(t, "openai")
	cmd := r.command("trap-int", "--vendor", "openai")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	testkit.Must(t, cmd.Start())
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(r.out, "ready")); err == nil {
			break
		}
		if i > 1000 {
			_ = cmd.Process.Kill()
			t.Fatalf("child never ready; stderr %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	testkit.Must(t, cmd.Process.Signal(os.Interrupt)) // to keylease only: the child is in its own group
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("keylease ended with %v, want exit 130; stderr %s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(r.out, "got-sigint")); err != nil {
		t.Fatal("the child did not receive the forwarded SIGINT")
	}
	r.canary(e2eResult{stdout: stdout.Bytes(), stderr: stderr.Bytes()})
}

func TestExecConcurrentStreams(t *testing.T) {
	t.Parallel()
	r := newE2E(t, "openai")
	res := r.run("both", "--vendor", "openai")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for name, b := range map[string][]byte{"stdout": res.stdout, "stderr": res.stderr} {
		if n := bytes.Count(b, []byte(" *** end\n")); n != 1000 {
			t.Errorf("%s has %d redacted lines, want 1000", name, n)
		}
	}
}

// countingScan is a writer that counts redactions and fails on the raw key,
// keeping only len(key) bytes of overlap: the test's memory stays flat too.
type countingScan struct {
	key    []byte
	tail   []byte
	masked int
	leaked int
	n      int64
}

func (c *countingScan) Write(p []byte) (int, error) {
	buf := append(c.tail, p...)
	c.leaked += bytes.Count(buf, c.key)
	c.masked += bytes.Count(buf, []byte("***"))
	keep := len(c.key) - 1
	if len(buf) < keep {
		keep = len(buf)
	}
	// Subtract what the overlap will count again next time.
	c.masked -= bytes.Count(buf[len(buf)-keep:], []byte("***"))
	c.tail = append(c.tail[:0], buf[len(buf)-keep:]...)
	c.n += int64(len(p))
	return len(p), nil
}

// TestExecGigabyteBoundedMemory pushes 1 GiB with a key in every MiB through
// the real binary. Skipped with -short and under -race (10x slower); on
// Linux it also checks keylease's peak RSS.
func TestExecGigabyteBoundedMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1 GiB through the redactor: run without -short and -race")
	}
	r := newE2E(t, "openai")
	r.env["E2E_BYTES"] = strconv.Itoa(1 << 30)
	// Outside Actions: no ::add-mask:: lines (which carry the value for the
	// runner) in the stream the counter reads.
	delete(r.env, "GITHUB_ACTIONS")
	cmd := r.command("flood", "--vendor", "openai", "--env", "ci")
	cs := &countingScan{key: []byte(r.keys["OPENAI_API_KEY"])}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = cs, &stderr
	start := time.Now()
	testkit.Must(t, cmd.Run())
	el := time.Since(start)
	if cs.leaked != 0 {
		t.Fatalf("%d raw keys passed the redactor", cs.leaked)
	}
	L := int64(len(floodLine()))
	if want := int((int64(1<<30) + L - 1) / L); cs.masked != want {
		t.Fatalf("%d redactions in %d bytes, want %d (one per chunk)", cs.masked, cs.n, want)
	}
	t.Logf("%d MiB in %v (%.0f MiB/s), %d redactions", cs.n>>20, el, float64(cs.n>>20)/el.Seconds(), cs.masked)
	if rss, ok := peakRSS(cmd.ProcessState); ok {
		t.Logf("keylease peak RSS %d MiB", rss>>20)
		if rss > 200<<20 {
			t.Errorf("keylease peak RSS %d MiB: memory is not bounded", rss>>20)
		}
	}
}

func TestExecIdentityAndInputs(t *testing.T) {
	t.Parallel()
	noOIDC := func(r *e2e) {
		delete(r.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
		delete(r.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	}
	staticKey := func(r *e2e) {
		id, sec := r.stack.StaticKey()
		r.env["AWS_ACCESS_KEY_ID"], r.env["AWS_SECRET_ACCESS_KEY"] = id, sec
		r.extra = append(r.extra, sec)
	}
	tests := []struct {
		name       string
		setup      func(r *e2e)
		args       []string
		wantSource string
		check      func(t *testing.T, r *e2e, res e2eResult)
	}{
		{"local default chain", func(r *e2e) {
			noOIDC(r)
			delete(r.env, "GITHUB_ACTIONS")
			staticKey(r)
		}, []string{"--vendor", "openai", "--env", "ci"}, "aws-default", func(t *testing.T, _ *e2e, res e2eResult) {
			if bytes.Contains(res.stdout, []byte("::")) {
				t.Errorf("workflow commands outside Actions: %q", res.stdout)
			}
			if len(res.outputs) != 0 {
				t.Errorf("outputs written outside Actions: %v", res.outputs)
			}
		}},
		{"aws-default under actions", func(r *e2e) {
			noOIDC(r)
			staticKey(r)
		}, []string{"--vendor", "openai", "--identity", "aws-default"}, "aws-default", nil},
		{"action inputs, as action.yml passes them", func(r *e2e) {
			r.env["KEYLEASE_VENDOR"] = "openai"
			r.env["KEYLEASE_REF"] = ""
			r.env["KEYLEASE_ENV"] = ""
		}, nil, "oidc", nil},
		{"bare registered ref names its vendor's variable", func(*e2e) {}, []string{"--ref", "kv://openai/ci/api_key"}, "oidc", nil},
		{"runner debug is sanitized", func(r *e2e) { r.env["RUNNER_DEBUG"] = "1" }, []string{"--vendor", "openai"}, "oidc",
			func(t *testing.T, _ *e2e, res e2eResult) {
				if !bytes.Contains(res.stdout, []byte("::debug::")) {
					t.Error("no ::debug:: lines with RUNNER_DEBUG=1")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			tt.setup(r)
			res := r.run("sha", tt.args...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			r.received()
			if m, _ := os.ReadFile(filepath.Join(r.out, "minting")); len(m) != 0 {
				t.Errorf("child saw %s", m)
			}
			recPath := res.outputs["record-path"]
			if recPath == "" { // outside Actions the path is only printed
				if _, p, ok := strings.Cut(string(res.stderr), "keylease: run record "); ok {
					recPath = strings.TrimSpace(p)
				}
			}
			b, err := os.ReadFile(recPath)
			testkit.Must(t, err)
			rec, err := record.Decode(b)
			testkit.Must(t, err)
			if rec.Session == nil || rec.Session.Source != tt.wantSource {
				t.Errorf("session %+v, want source %s", rec.Session, tt.wantSource)
			}
			if tt.check != nil {
				tt.check(t, r, res)
			}
		})
	}
}
