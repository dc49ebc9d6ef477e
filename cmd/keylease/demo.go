package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/secret"
)

func init() {
	register(&command{name: "demo", summary: "lease fake keys from local emulators to a command and prove nothing leaks", run: runDemo})
	register(&command{name: demoChildCmd, summary: "(internal) the demo's child command", run: runDemoChild})
}

const demoChildCmd = "__demo-child"

// demoVendors are the fake keys the demo seeds: correctly prefixed, random
// per run, shaped like the real ones (so the vendor detectors see them).
var demoVendors = []struct {
	vendor, envVar, prefix string
	n                      int
}{
	{"openai", "OPENAI_API_KEY", "sk-proj-", 48},
	{"anthropic", "ANTHROPIC_API_KEY", "sk-ant-api03-", 93},
	{"xai", "XAI_API_KEY", "xai-", 64},
}

const demoRegistry = `# keylease demo registry (refs only)
openai:
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
    max_ttl_seconds: 300
`

const demoPolicy = `{
  "version": 1,
  "allowed_secrets": ["openai", "anthropic", "xai"],
  "required_prefix": {"openai": "sk-", "anthropic": "sk-ant-", "xai": "xai-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "dev": 3600, "ci": 900, "prod": 300},
  "rotation_days": {"dev": 30, "ci": 30, "prod": 14},
  "backends": {"kv": {"type": "aws-secretsmanager", "name_template": "{path}"}}
}
`

// demoSetup is a running emulator stack with fake keys, a registry and a
// policy in a temporary directory.
type demoSetup struct {
	stack    *emulators.Stack
	dir      string
	registry string
	policy   string
	keys     map[string]secret.Value // env var -> fake key
}

func startDemo(ctx context.Context) (*demoSetup, error) {
	dir, err := os.MkdirTemp("", "keylease-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo temp dir: %w", err)
	}
	d := &demoSetup{dir: dir, registry: filepath.Join(dir, "secrets-registry.yaml"),
		policy: filepath.Join(dir, "secrets-policy.json"), keys: map[string]secret.Value{}}
	if err := errors.Join(os.WriteFile(d.registry, []byte(demoRegistry), 0o600),
		os.WriteFile(d.policy, []byte(demoPolicy), 0o600)); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("demo config: %w", err)
	}
	d.stack, err = emulators.StartAll(ctx)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start emulators: %w", err)
	}
	for _, v := range demoVendors {
		k, err := fakeKey(v.prefix, v.n)
		if err != nil {
			d.close()
			return nil, err
		}
		d.stack.Seed(v.vendor+"/ci/api_key", k)
		d.keys[v.envVar] = secret.FromString(k)
	}
	return d, nil
}

func (d *demoSetup) close() {
	_ = d.stack.Close()
	_ = os.RemoveAll(d.dir)
}

// fakeKey is prefix + n random base62 characters with at least one digit,
// one lower- and one upper-case letter (what real keys look like).
func fakeKey(prefix string, n int) (string, error) {
	const chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	for i := range b {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return "", fmt.Errorf("random key: %w", err)
		}
		b[i] = chars[j.Int64()]
	}
	b[0], b[1], b[2] = '7', 'q', 'Q'
	return prefix + string(b), nil
}

func runDemo(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	serve := fs.Bool("serve", false, "keep the emulators running and write the variables that point at them to --env-file (for the self-test workflow)")
	envFile := fs.String("env-file", "", "with --serve: write KEY=VALUE lines here")
	if err := parseFlags(fs, args, e, "Usage: keylease demo [--serve --env-file F]"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("demo takes no arguments")
	}
	if *serve {
		return serveDemo(ctx, *envFile, e)
	}
	d, err := startDemo(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	return demo(ctx, d, e)
}

// serveDemo keeps a demo stack up until SIGINT/SIGTERM. The variables it
// writes hold fakes only: the emulators' URLs and request token.
func serveDemo(ctx context.Context, envFile string, e *env) error {
	if envFile == "" {
		return usageError("demo --serve needs --env-file PATH")
	}
	d, err := startDemo(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	lines := append([]string{}, d.stack.Env()...)
	sum := sha256.Sum256(d.keys["OPENAI_API_KEY"].Bytes())
	lines = append(lines,
		"SELFTEST_REGISTRY="+d.registry, "SELFTEST_POLICY="+d.policy,
		"SELFTEST_ROLE_ARN="+d.stack.RoleARN, "SELFTEST_KEY_SHA256="+hex.EncodeToString(sum[:]))
	tmp := envFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("--env-file %s: %w", shownPath(envFile), err)
	}
	if err := os.Rename(tmp, envFile); err != nil { // readers never see half a file
		return fmt.Errorf("--env-file %s: %w", shownPath(envFile), err)
	}
	fmt.Fprintf(e.stdout, "keylease demo: emulators serving; variables in %s; stop with SIGTERM\n", shownPath(envFile))
	<-ctx.Done()
	return nil
}

// capture is a concurrency-safe copy of everything written through it.
type capture struct {
	mu sync.Mutex
	w  io.Writer
	b  bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Write(p)
	return c.w.Write(p)
}

func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.b.Bytes())
}

func demo(ctx context.Context, d *demoSetup, e *env) error {
	out := &capture{w: e.stdout}
	errw := &capture{w: e.stderr}
	runnerLog := &capture{w: io.Discard} // the simulated runner's command channel
	fmt.Fprintln(out, "== keylease demo ==")
	fmt.Fprintf(out, "emulators on loopback: OIDC %s, STS %s, Secrets Manager %s\n", d.stack.OIDC.Issuer(), d.stack.STS.URL(), d.stack.SM.URL())
	fmt.Fprintf(out, "seeded %d fake keys (random, correctly prefixed) under kv://<vendor>/ci/api_key\n", len(d.keys))

	// The lease's getenv points the AWS SDK at the emulators (lease pins what
	// the SDK would read from the process environment), so the demo leaves
	// the process environment alone.
	vars := map[string]string{}
	for _, kv := range d.stack.Env() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	vars["AWS_CONFIG_FILE"] = filepath.Join(d.dir, "no-aws-config")
	vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(d.dir, "no-aws-credentials")

	// A simulated runner: GitHub's variables and files in the temp dir.
	runnerTemp := filepath.Join(d.dir, "runner-temp")
	files := map[string]string{}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE"} {
		files[name] = filepath.Join(d.dir, strings.ToLower(name))
		if err := os.WriteFile(files[name], nil, 0o600); err != nil {
			return fmt.Errorf("demo runner file: %w", err)
		}
	}
	runVars := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "keylease/demo", "GITHUB_WORKFLOW": "demo",
		"GITHUB_JOB": "demo", "GITHUB_RUN_ID": fmt.Sprint(time.Now().Unix()), "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": strings.Repeat("0", 40), "GITHUB_ACTOR": "octocat",
		"GITHUB_EVENT_NAME": "push", "RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_TEMP": runnerTemp,
	}
	for k, v := range files {
		runVars[k] = v
	}
	for k, v := range vars {
		runVars[k] = v
	}
	var environ []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, override := runVars[k]; override || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "ACTIONS_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		environ = append(environ, kv)
	}
	for k, v := range runVars {
		environ = append(environ, k+"="+v)
	}
	getenv := func(k string) string {
		if v, ok := runVars[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "AWS_") { // the caller's AWS settings are not the demo's
			return ""
		}
		return os.Getenv(k)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: locate the keylease binary for the child: %w", err)
	}

	fmt.Fprintln(out, "\n== the command's output, as the log shows it ==")
	res, lerr := lease.Run(ctx, lease.Options{
		RegistryPath: d.registry, PolicyPath: d.policy, Env: "ci",
		Vendors: []string{"openai", "anthropic", "xai"}, RoleARN: d.stack.RoleARN,
		OIDCIssuer: vars["KEYLEASE_OIDC_ISSUER"], Identity: lease.IdentityOIDC,
		Command: []string{self, demoChildCmd}, Version: version,
	}, lease.IO{Stdin: strings.NewReader(""), Stdout: out, Stderr: errw, Commands: runnerLog,
		Getenv: getenv, Environ: func() []string { return environ }})
	if lerr != nil {
		return lerr
	}

	var failures []string
	check := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		fmt.Fprintf(out, "  %s %s\n", mark, fmt.Sprintf(format, args...))
	}
	summary, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	fmt.Fprintln(out, "\n== job summary (GITHUB_STEP_SUMMARY) ==")
	_, _ = out.Write(summary)
	var recBytes []byte
	if res.RecordPath != "" {
		recBytes, _ = os.ReadFile(res.RecordPath)
		fmt.Fprintf(out, "\n== run record (%s) ==\n", filepath.Base(res.RecordPath))
		_, _ = out.Write(recBytes)
	}

	fmt.Fprintln(out, "\n== verification ==")
	masks := bytes.Count(runnerLog.bytes(), []byte("::add-mask::"))
	check(masks > 0, "%d ::add-mask:: commands went to the (simulated) runner before the command started (not shown: they carry the values)", masks)
	check(res.ExitCode == 0, "command exit code %d", res.ExitCode)
	printed := out.bytes()
	for _, v := range demoVendors {
		sum := sha256.Sum256(d.keys[v.envVar].Bytes())
		want := fmt.Sprintf("received %s: %d bytes, sha256 %s", v.envVar, d.keys[v.envVar].Len(), hex.EncodeToString(sum[:4]))
		check(bytes.Contains(printed, []byte(want)), "the command received %s (length and sha256 prefix match)", v.envVar)
	}
	check(bytes.Contains(printed, []byte("minting variables: none")), "the command saw no OIDC request token and no AWS credentials")
	check(res.Record != nil && res.Record.Masking.Redactions > 0, "the redactor replaced %d forms in the command's output", redactions(res))
	rec, derr := record.Decode(recBytes)
	check(derr == nil && rec.Verification.Findings == 0 && allLeased(rec), "run record written, strictly decoded, 0 findings, every lease leased")

	rotated, rerr := demoRotate(ctx, d, getenv, out, runnerLog, check)
	if rerr != nil {
		return rerr
	}
	moded, merr := demoModes(ctx, d, getenv, out, runnerLog, check)
	if merr != nil {
		return merr
	}
	rotated = append(rotated, moded...)
	stored, serr := demoStores(ctx, d, getenv, out, runnerLog, check)
	if serr != nil {
		return serr
	}
	rotated = append(rotated, stored...)
	revoked, verr := demoRevoke(ctx, d, getenv, out, runnerLog, check)
	if verr != nil {
		return verr
	}
	rotated = append(rotated, revoked...)
	incident, ierr := demoIncident(ctx, d, getenv, out, runnerLog, check)
	if ierr != nil {
		return ierr
	}
	rotated = append(rotated, incident...)
	audited, aerr := demoAudit(ctx, d, getenv, out, check)
	if aerr != nil {
		return aerr
	}
	rotated = append(rotated, audited...)
	printed = out.bytes()

	// Canary: every form of every key, in everything the demo printed or
	// left on disk.
	set := masking.NewSet(masking.Options{})
	for _, k := range append(mapValues(d.keys), rotated...) {
		if err := set.Add(k); err != nil {
			return fmt.Errorf("demo canary: %w", err)
		}
	}
	sc := masking.NewScanner(masking.ScanOptions{Set: set})
	leaks := len(sc.Scan(printed)) + len(sc.Scan(errw.bytes()))
	_ = filepath.WalkDir(d.dir, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			if fs, serr := sc.ScanFile(p); serr == nil {
				leaks += len(fs)
			} else {
				leaks++ // unreadable counts as unverified
			}
		}
		return nil
	})
	check(leaks == 0, "no form of any key in stdout, stderr, the summary, the outputs, the record or the temp dir (%d findings)", leaks)
	if len(failures) > 0 {
		return &exitError{code: exitLeak, err: fmt.Errorf("demo failed %d check(s): %s", len(failures), strings.Join(failures, "; "))}
	}
	fmt.Fprintln(out, "\nPASS: the keys reached the command and nothing else.")
	fmt.Fprintln(out, "PASS: the rotation left one live key and a value-free record.")
	fmt.Fprintln(out, "PASS: the minted key is gone and the federated token came without any stored key.")
	fmt.Fprintln(out, "PASS: the revoked key is dead at the vendor and cannot be leased again.")
	fmt.Fprintln(out, "PASS: the incident revoked and replaced the leaked key and found its encoded copy.")
	return nil
}

func redactions(res *lease.Result) int64 {
	if res.Record == nil {
		return 0
	}
	return res.Record.Masking.Redactions
}

func allLeased(r *record.Record) bool {
	if r == nil || len(r.Leases) == 0 {
		return false
	}
	for _, l := range r.Leases {
		if l.Outcome != record.OutcomeLeased {
			return false
		}
	}
	return true
}

// runDemoChild is the demo's command: it prints every leased key in the
// encodings a careless program might use, and splits writes, so that the
// demo shows the redactor at work. It writes to the real stdout/stderr
// (unbuffered) because the split writes are the point.
func runDemoChild(_ context.Context, _ []string, e *env) error {
	stdout, stderr := e.stdout, e.stderr
	var names []string
	for _, v := range demoVendors {
		if e.getenv(v.envVar) != "" {
			names = append(names, v.envVar)
		}
	}
	sort.Strings(names)
	var minting []string
	for _, k := range []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if e.getenv(k) != "" {
			minting = append(minting, k)
		}
	}
	if len(minting) == 0 {
		minting = []string{"none"}
	}
	fmt.Fprintf(stdout, "child: lease expires at %s; minting variables: %s\n", e.getenv("KEYLEASE_EXPIRES_AT"), strings.Join(minting, ", "))
	for _, name := range names {
		v := e.getenv(name)
		sum := sha256.Sum256([]byte(v))
		fmt.Fprintf(stdout, "received %s: %d bytes, sha256 %s\n", name, len(v), hex.EncodeToString(sum[:4]))
		j, _ := json.Marshal(map[string]string{"key": v + "<&>"})
		for _, line := range []string{
			"raw:       " + v,
			"base64:    " + base64.StdEncoding.EncodeToString([]byte(v)),
			"base64url: " + base64.RawURLEncoding.EncodeToString([]byte(v)),
			"hex:       " + hex.EncodeToString([]byte(v)),
			"HEX:       " + strings.ToUpper(hex.EncodeToString([]byte(v))),
			"query:     " + url.QueryEscape(v+" &"),
			"json:      " + string(j),
		} {
			fmt.Fprintf(stdout, "  %s %s\n", name, line)
		}
		// Split across writes with a pause longer than the idle release.
		fmt.Fprintf(stdout, "  %s split:     ", name)
		_, _ = io.WriteString(stdout, v[:12])
		time.Sleep(120 * time.Millisecond)
		_, _ = io.WriteString(stdout, v[12:]+"\n")
		// One byte per write, on stderr.
		fmt.Fprintf(stderr, "  %s stderr:    ", name)
		for i := 0; i < len(v); i++ {
			_, _ = io.WriteString(stderr, v[i:i+1])
		}
		_, _ = io.WriteString(stderr, "\n")
	}
	return nil
}

func mapValues(m map[string]secret.Value) []secret.Value {
	out := make([]secret.Value, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
