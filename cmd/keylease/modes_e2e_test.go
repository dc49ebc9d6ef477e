package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/mintname"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

func init() { e2eMoreModes["vendors"] = vendorsChild }

// vendorsChild checks each leased value at its vendor's (emulated) API and
// writes the verdict, prints the value carelessly (the redactor must catch
// it), records sha256 of every variable it was given (so a test can prove a
// value was not among them without it ever being written), then exits,
// crashes or sleeps as E2E_AFTER says.
func vendorsChild() int {
	out := os.Getenv("E2E_OUT")
	write := func(name, s string) { _ = os.WriteFile(filepath.Join(out, name), []byte(s), 0o600) }
	ctx := context.Background()
	vo := vendorapi.Options{Getenv: os.Getenv, MaxRetries: -1}
	for _, pair := range strings.Split(os.Getenv("E2E_CHECK"), ",") {
		name, kind, _ := strings.Cut(pair, ":")
		v := secret.FromString(os.Getenv(name))
		var verdict vendorapi.Verdict
		var err error
		switch kind {
		case "openai":
			c, _ := vendorapi.NewOpenAI(vo)
			verdict, err = c.Check(ctx, v)
		case "anthropic-oauth":
			c, _ := vendorapi.NewAnthropic(vo)
			verdict, err = c.CheckOAuth(ctx, v)
		case "xai":
			c, _ := vendorapi.NewXAI(vo)
			verdict, err = c.Check(ctx, v)
		}
		msg := fmt.Sprint(verdict)
		if err != nil {
			msg += " " + err.Error()
		}
		write(name+".verdict", msg)
		sum := sha256.Sum256(v.Bytes())
		write(name+".sha256", hex.EncodeToString(sum[:]))
		fmt.Printf("%s=%s\n", name, v.Bytes())
	}
	var sums []string
	for _, kv := range os.Environ() {
		_, val, _ := strings.Cut(kv, "=")
		sum := sha256.Sum256([]byte(val))
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	write("envsums", strings.Join(sums, "\n"))
	write("expires", os.Getenv("KEYLEASE_EXPIRES_AT"))
	after := os.Getenv("E2E_AFTER")
	switch {
	case after == "sleep":
		write("ready", "1")
		time.Sleep(time.Minute)
		return 0
	case after == "crash":
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill()
		time.Sleep(time.Minute)
		return 0
	case strings.HasPrefix(after, "exit:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(after, "exit:"))
		return n
	}
	return 0
}

// The registry of the modes tests, by vendor: a stored, a minted and a
// federated OpenAI entry, a federated Anthropic one and a minted xAI one.
const (
	modesOpenAI = `openai:
  admin:
    secret_ref: "kv://openai/admin/api_key"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "kv://openai/ci/api_key"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
  eval:
    mode: minted
    admin: admin
    project_id: "proj_eval"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
  prod:
    mode: federated
    federation:
      rule_id: "idp_gh"
      service_account_id: "svc_acct_prod"
      audience: "https://openai.example/keylease"
    scope: ["llm:chat"]
    max_ttl_seconds: 300
`
	modesAnthropic = `anthropic:
  prod:
    mode: federated
    federation:
      organization_id: "org_1"
      rule_id: "fdrl_gh"
      service_account_id: "svac_1"
      audience: "https://api.anthropic.com"
    scope: ["llm:messages"]
    max_ttl_seconds: 300
`
	modesXAI = `xai:
  admin:
    secret_ref: "kv://xai/admin/api_key"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  eval:
    mode: minted
    admin: admin
    project_id: "team-eval"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
`
	modesRegistry = modesOpenAI + modesAnthropic + modesXAI
)

const modesPolicy = `{"version":1,"allowed_secrets":["openai","anthropic","xai"],
"required_prefix":{"openai":"sk-","anthropic":"sk-ant-","xai":"xai-"},
"flags":{"no_logging":true,"no_persistence":true},
"ttl_caps_seconds":{"local":3600,"ci":900,"eval":900,"prod":300,"admin":300},
"backends":{"kv":{"type":"aws-secretsmanager","name_template":"{path}"}}}`

// modesWorld is an e2e run with the three vendor emulators, their admin keys
// in Secrets Manager and both federation rules trusting the OIDC emulator.
type modesWorld struct {
	*e2e
	oa             *vendorfake.OpenAI
	an             *vendorfake.Anthropic
	xa             *vendorfake.XAI
	oaAdmin, xMgmt string
	registry       string
}

func newModes(t testing.TB, reg string) *modesWorld {
	t.Helper()
	r := newE2E(t)
	w := &modesWorld{e2e: r, registry: reg}
	var err error
	w.oa, err = vendorfake.StartOpenAI()
	testkit.Must(t, err)
	w.an, err = vendorfake.StartAnthropic()
	testkit.Must(t, err)
	w.xa, err = vendorfake.StartXAI()
	testkit.Must(t, err)
	t.Cleanup(func() { _ = errors.Join(w.oa.Close(), w.an.Close(), w.xa.Close()) })
	w.xa.PropagationPolls, w.xa.StrictPropagation = 3, true
	iss := r.stack.OIDC.Issuer()
	w.oa.SetFederation("idp_gh", "svc_acct_prod", vendorfake.FederationRule{Issuer: iss, Audience: "https://openai.example/keylease", TokenTTL: time.Hour})
	w.an.SetFederation("fdrl_gh", "org_1", "svac_1", vendorfake.FederationRule{Issuer: iss, Audience: "https://api.anthropic.com", Subject: "repo:keylease/demo:ref:refs/heads/main"})
	w.oaAdmin, w.xMgmt = w.oa.AddAdminKey(), w.xa.AddManagementKey()
	r.stack.Seed("openai/admin/api_key", w.oaAdmin)
	r.stack.Seed("xai/admin/api_key", w.xMgmt)
	r.extra = append(r.extra, w.oaAdmin, w.xMgmt)
	// The minted keys, the federated tokens and the OIDC tokens the vendors
	// were sent are looked for too (the STS fingerprints cover only the
	// tokens STS saw, and a federated lease sends STS none).
	r.issued = append(r.issued, w.oa.Secrets, w.an.Secrets, w.xa.Secrets)
	testkit.WriteFile(t, filepath.Join(r.dir, "registry.yaml"), reg)
	testkit.WriteFile(t, filepath.Join(r.dir, "policy.json"), modesPolicy)
	for k, v := range map[string]string{
		"OPENAI_BASE_URL": w.oa.BaseURL(), "OPENAI_AUTH_URL": w.oa.URL() + "/oauth/token",
		"ANTHROPIC_BASE_URL": w.an.URL(), "XAI_BASE_URL": w.xa.BaseURL(), "XAI_MANAGEMENT_URL": w.xa.URL(),
	} {
		r.env[k] = v
	}
	return w
}

// check sets which variables the child checks at which vendor.
func (w *modesWorld) check(pairs ...string) { w.env["E2E_CHECK"] = strings.Join(pairs, ",") }

func (w *modesWorld) verdict(name string) string {
	b, err := os.ReadFile(filepath.Join(w.out, name+".verdict"))
	if err != nil {
		w.t.Fatalf("the child wrote no verdict for %s: %v", name, err)
	}
	return string(b)
}

// adminNotInChildEnv: no variable the child got has the admin keys' sha256.
func (w *modesWorld) adminNotInChildEnv() {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.out, "envsums"))
	testkit.Must(w.t, err)
	for _, a := range []string{w.oaAdmin, w.xMgmt} {
		sum := sha256.Sum256([]byte(a))
		if bytes.Contains(b, []byte(hex.EncodeToString(sum[:]))) {
			w.t.Error("an admin key is in the child's environment")
		}
	}
}

// liveMinted is how many lease-minted keys exist at the two vendors.
func (w *modesWorld) liveMinted() int {
	return w.oa.ServiceAccounts("proj_eval") + w.xa.Keys("team-eval")
}

func (w *modesWorld) record() *record.Record {
	w.t.Helper()
	p := filepath.Join(w.dir, "runner-temp", "keylease")
	ents, _ := os.ReadDir(p)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "keylease-record-") && strings.HasSuffix(e.Name(), ".json") {
			b, err := os.ReadFile(filepath.Join(p, e.Name()))
			testkit.Must(w.t, err)
			rec, err := record.Decode(b)
			testkit.Must(w.t, err)
			return rec
		}
	}
	w.t.Fatalf("no run record in %s (%v)", p, ents)
	return nil
}

func smCalls(w *modesWorld) int {
	n := 0
	for _, c := range w.stack.SM.Faults.Counts() {
		n += c
	}
	return n
}

func TestExecFederated(t *testing.T) {
	t.Parallel()
	w := newModes(t, modesRegistry)
	w.oa.SetFederation("idp_gh", "svc_acct_prod", vendorfake.FederationRule{Issuer: w.stack.OIDC.Issuer(), Audience: "https://openai.example/keylease", TokenTTL: 90 * time.Second})
	w.check("OPENAI_API_KEY:openai", "ANTHROPIC_AUTH_TOKEN:anthropic-oauth")
	w.env["E2E_AFTER"] = "exit:0"
	start := time.Now()
	res := w.run("vendors", "--env", "prod", "--vendor", "openai", "--vendor", "anthropic")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
	}
	for _, v := range []string{"OPENAI_API_KEY", "ANTHROPIC_AUTH_TOKEN"} {
		if got := w.verdict(v); got != "valid" {
			t.Errorf("%s at the vendor during the lease: %s, want valid", v, got)
		}
	}
	for name, f := range map[string]*vendorfake.Anthropic{"anthropic": w.an} {
		ex := f.Exchanged()
		if len(ex) != 1 || len(ex[0].Audience) != 1 || ex[0].Audience[0] != "https://api.anthropic.com" {
			t.Errorf("%s verified %+v, want one token for its audience", name, ex)
		}
	}
	if ex := w.oa.Exchanged(); len(ex) != 1 || ex[0].Audience[0] != "https://openai.example/keylease" {
		t.Errorf("openai verified %+v, want one token for its audience", ex)
	}
	// The canary looked for each vendor's assertion and token.
	if a, o := len(w.an.Secrets()), len(w.oa.Secrets()); a != 2 || o != 2 {
		t.Errorf("the canary knew %d Anthropic and %d OpenAI secret(s), want 2 each (the OIDC token and the federated token)", a, o)
	}
	if n := smCalls(w); n != 0 {
		t.Errorf("%d Secrets Manager call(s) for a federated-only lease, want 0", n)
	}
	if n := w.stack.STS.Faults.Counts(); len(n) != 0 {
		t.Errorf("STS calls %v for a federated-only lease, want none", n)
	}
	// The deadline honours the OpenAI token's 90 s expires_in (the TTL is 300 s).
	exp, err := os.ReadFile(filepath.Join(w.out, "expires"))
	testkit.Must(t, err)
	dl, err := time.Parse(time.RFC3339, string(exp))
	if err != nil || dl.After(start.Add(91*time.Second)) || dl.Before(start.Add(80*time.Second)) {
		t.Errorf("KEYLEASE_EXPIRES_AT %q (%v), want about 90 s from the start", exp, err)
	}
	rec := w.record()
	if rec.Session == nil || rec.Session.Source != "none" {
		t.Errorf("record session %+v, want source none", rec.Session)
	}
	for _, l := range rec.Leases {
		if l.Mode != "federated" || l.TokenExpiresAt.IsZero() || l.OIDCSubject != "repo:keylease/demo:ref:refs/heads/main" || l.OIDCAudience == "" || l.Outcome != "leased" {
			t.Errorf("record lease %+v", l)
		}
	}
	if l := rec.Leases[1]; l.EnvVar != "ANTHROPIC_AUTH_TOKEN" || l.OIDCAudience != "https://api.anthropic.com" {
		t.Errorf("anthropic lease %+v", l)
	}
	sum, err := os.ReadFile(w.files["GITHUB_STEP_SUMMARY"])
	testkit.Must(t, err)
	if !strings.Contains(string(sum), "No AWS call") || !strings.Contains(string(sum), "federated token for") {
		t.Errorf("summary does not say the lease was federated with no AWS call:\n%s", sum)
	}
}

// TestExecFederatedRefused: a vendor refusal is exit 3 with the vendor's
// error and the token's sub and aud, and the child never runs.
func TestExecFederatedRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ from, to, aud string }{
		"wrong rule":     {`rule_id: "fdrl_gh"`, `rule_id: "fdrl_other"`, "https://api.anthropic.com"},
		"wrong audience": {`audience: "https://api.anthropic.com"`, `audience: "https://wrong.example"`, "https://wrong.example"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newModes(t, strings.Replace(modesRegistry, tc.from, tc.to, 1))
			w.check("ANTHROPIC_AUTH_TOKEN:anthropic-oauth")
			res := w.run("vendors", "--env", "prod", "--vendor", "anthropic")
			if res.code != 3 {
				t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
			}
			for _, want := range []string{"invalid_grant", "sub repo:keylease/demo:ref:refs/heads/main", "aud " + tc.aud, "anthropic refused"} {
				if !bytes.Contains(res.stderr, []byte(want)) {
					t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
				}
			}
			if w.childRan() {
				t.Error("the child ran after a refused exchange")
			}
			if rec := w.record(); rec.Leases[0].Outcome != "failed" || !strings.Contains(rec.Leases[0].Error, "invalid_grant") {
				t.Errorf("record lease %+v", rec.Leases[0])
			}
		})
	}
}

// TestExecMinted: the minted keys work during the lease, are not the admin
// keys, and are gone when the lease ends on every path.
func TestExecMinted(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	tests := []struct {
		name     string
		after    string
		args     []string
		signal   bool
		command  string // "" : the vendors child
		wantCode int
		checked  bool // the child checked the keys
		setup    func(*modesWorld)
		propMin  int // propagation checks at least (default 3)
	}{
		{name: "exit", after: "exit:0", wantCode: 0, checked: true},
		{name: "exit code", after: "exit:7", wantCode: 7, checked: true},
		{name: "child crash", after: "crash", wantCode: 128 + 9, checked: true},
		{name: "deadline", after: "sleep", args: []string{"--ttl", "3", "--grace", "1"}, wantCode: 124, checked: true},
		{name: "sigterm", after: "sleep", signal: true, wantCode: 128 + int(syscall.SIGTERM), checked: true},
		{name: "keylease error after minting", command: "/nonexistent/command", wantCode: 2},
		{name: "vendor error mid-setup", after: "exit:0", wantCode: 3, propMin: 1, setup: func(w *modesWorld) {
			// Both keys are minted; the xAI propagation check then fails.
			w.xa.Faults.Add(fault.Rule{Op: vendorfake.OpXAIPropagation, Status: 403})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newModes(t, modesRegistry)
			w.check("OPENAI_API_KEY:openai", "XAI_API_KEY:xai")
			w.env["E2E_AFTER"] = tc.after
			if tc.setup != nil {
				tc.setup(w)
			}
			args := append([]string{"--env", "eval", "--vendor", "openai", "--vendor", "xai"}, tc.args...)
			var res e2eResult
			switch {
			case tc.command != "":
				res = w.runCommand(tc.command, args...)
			case tc.signal:
				res = w.runSignalled(args...)
			default:
				res = w.run("vendors", args...)
			}
			if res.code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", res.code, tc.wantCode, res.stderr)
			}
			if tc.checked {
				for _, v := range []string{"OPENAI_API_KEY", "XAI_API_KEY"} {
					if got := w.verdict(v); got != "valid" {
						t.Errorf("%s during the lease: %s, want valid (xAI: only once propagated)", v, got)
					}
				}
				w.adminNotInChildEnv()
			}
			if n := w.liveMinted(); n != 0 {
				t.Errorf("%d minted key(s) left at the vendors after the lease", n)
			}
			if got := w.oa.Faults.Counts()[vendorfake.OpOpenAICreateServiceAccount]; got != 1 {
				t.Errorf("%d service account(s) created, want 1", got)
			}
			if tc.propMin == 0 {
				tc.propMin = 3
			}
			if got := w.xa.Faults.Counts()[vendorfake.OpXAIPropagation]; got < tc.propMin {
				t.Errorf("%d propagation check(s), want at least %d", got, tc.propMin)
			}
			if !tc.checked && w.childRan() && tc.command == "" {
				t.Error("the child ran although the lease failed")
			}
			rec := w.record()
			for _, l := range rec.Leases {
				if l.Mode != "minted" || l.VendorID == "" || l.DeletedAt.IsZero() || l.DeleteError != "" {
					t.Errorf("record lease %+v, want minted and deleted", l)
				}
				if n, ok := mintname.Parse(l.MintedName); !ok || !strings.HasPrefix(n.Run, "4242a1x") || len(n.Run) != len("4242a1x")+8 || n.Env != "eval" {
					t.Errorf("minted name %q does not parse as this run's", l.MintedName)
				}
			}
		})
	}
}

// runCommand runs exec with command as the child (one that may not exist).
func (r *e2e) runCommand(command string, args ...string) e2eResult {
	r.t.Helper()
	full := append(append([]string{"exec"}, args...), "--", command)
	cmd := exec.Command(keyleaseBin, full...)
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	res := e2eResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.Bytes(), stderr: stderr.Bytes(), outputs: r.outputs()}
	r.canary(res)
	return res
}

// runSignalled starts the vendors child, waits until it is ready and sends
// SIGTERM to keylease (not the child).
func (r *e2e) runSignalled(args ...string) e2eResult {
	r.t.Helper()
	cmd := r.command("vendors", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	testkit.Must(r.t, cmd.Start())
	r.waitReady(cmd, &stderr)
	testkit.Must(r.t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	res := e2eResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.Bytes(), stderr: stderr.Bytes(), outputs: r.outputs()}
	r.canary(res)
	return res
}

func (r *e2e) waitReady(cmd *exec.Cmd, stderr *bytes.Buffer) {
	r.t.Helper()
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(r.out, "ready")); err == nil {
			return
		}
		if i > 2000 {
			_ = cmd.Process.Kill()
			r.t.Fatalf("child never ready; stderr %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExecMintedOrphanByName: a keylease killed outright (SIGKILL, no
// chance to delete) leaves its key, and the key's name says which run left
// it and when its lease ended, which is what the audit's sweep reads.
func TestExecMintedOrphanByName(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	w := newModes(t, modesRegistry)
	w.check("OPENAI_API_KEY:openai")
	w.env["E2E_AFTER"] = "sleep"
	cmd := w.command("vendors", "--env", "eval", "--vendor", "openai", "--ttl", "60")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	testkit.Must(t, cmd.Start())
	w.waitReady(cmd, &stderr)
	testkit.Must(t, cmd.Process.Kill())
	_ = cmd.Wait()
	// The orphaned child (its own process group) is ended by the test.
	t.Cleanup(func() { killGroup(cmd.Process.Pid) })
	c, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: func(k string) string { return w.env[k] }})
	testkit.Must(t, err)
	sas, err := c.Project(secret.FromString(w.oaAdmin), "proj_eval").ServiceAccounts(context.Background())
	testkit.Must(t, err)
	if len(sas) != 1 {
		t.Fatalf("%d service accounts after SIGKILL, want the one orphan", len(sas))
	}
	n, ok := mintname.Parse(sas[0].Name)
	if !ok || n.Vendor != "openai" || n.Env != "eval" || !strings.HasPrefix(n.Run, "4242a1x") {
		t.Fatalf("orphan name %q does not parse as this run's", sas[0].Name)
	}
	if n.Expires.Before(start.Add(50*time.Second)) || n.Expires.After(start.Add(61*time.Second)) {
		t.Errorf("orphan expiry %v, want the lease's end (about 60 s after %v)", n.Expires, start)
	}
	if n.Orphaned(time.Now(), time.Minute) || !n.Orphaned(n.Expires.Add(2*time.Minute), time.Minute) {
		t.Error("Orphaned does not tell the live lease from one past its end")
	}
	w.canary(e2eResult{stdout: stdout.Bytes(), stderr: stderr.Bytes()})
}

// mixedRegistry has one entry of each mode in env eval: stored OpenAI,
// federated Anthropic, minted xAI.
var mixedRegistry = "openai:\n  eval:\n    secret_ref: \"kv://openai/ci/api_key\"\n    scope: [\"llm:chat\"]\n    max_ttl_seconds: 900\n" +
	strings.Replace(modesAnthropic, "  prod:", "  eval:", 1) + modesXAI

// TestExecMixedModes: one exec leases a stored, a minted and a federated key.
func TestExecMixedModes(t *testing.T) {
	t.Parallel()
	w := newModes(t, mixedRegistry)
	_, stored := w.oa.AddKey("proj_ci", "ci", false)
	w.stack.Seed("openai/ci/api_key", stored)
	w.keys["OPENAI_API_KEY"] = stored
	w.check("OPENAI_API_KEY:openai", "XAI_API_KEY:xai", "ANTHROPIC_AUTH_TOKEN:anthropic-oauth")
	w.env["E2E_AFTER"] = "exit:0"
	res := w.run("vendors", "--env", "eval", "--vendor", "openai", "--vendor", "xai", "--vendor", "anthropic")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
	}
	for _, v := range []string{"OPENAI_API_KEY", "XAI_API_KEY", "ANTHROPIC_AUTH_TOKEN"} {
		if got := w.verdict(v); got != "valid" {
			t.Errorf("%s during the lease: %s, want valid", v, got)
		}
	}
	w.adminNotInChildEnv()
	if n := w.xa.Keys("team-eval"); n != 0 {
		t.Errorf("%d minted xAI key(s) left", n)
	}
	modes := map[string]string{}
	for _, l := range w.record().Leases {
		modes[l.EnvVar] = l.Mode
	}
	if modes["OPENAI_API_KEY"] != "" || modes["XAI_API_KEY"] != "minted" || modes["ANTHROPIC_AUTH_TOKEN"] != "federated" {
		t.Errorf("record modes %v", modes)
	}
}

// TestExecMintedSignalDuringSetup: SIGTERM while keylease waits for the xAI
// key to go live (the OpenAI key already minted) ends the lease before the
// child starts and still deletes both keys.
func TestExecMintedSignalDuringSetup(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	w := newModes(t, modesRegistry)
	w.xa.PropagationPolls = 1 << 20 // never live
	w.check("OPENAI_API_KEY:openai", "XAI_API_KEY:xai")
	cmd, stdout, stderr := w.startWhen("a propagation poll", func() bool { return w.xa.Faults.Count(vendorfake.OpXAIPropagation) >= 2 },
		"--env", "eval", "--vendor", "openai", "--vendor", "xai")
	if n := w.liveMinted(); n != 2 {
		_ = cmd.Process.Kill()
		t.Fatalf("%d minted keys while waiting for propagation, want 2", n)
	}
	testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
	res := w.wait(cmd, stdout, stderr)
	if res.code != 3 {
		t.Errorf("exit %d, want 3 (the lease could not be set up); stderr %s", res.code, res.stderr)
	}
	if w.childRan() {
		t.Error("the child ran with a key that was never live")
	}
	if n := w.liveMinted(); n != 0 {
		t.Errorf("%d minted key(s) left after SIGTERM during setup", n)
	}
	for _, l := range w.record().Leases {
		if l.DeletedAt.IsZero() {
			t.Errorf("record lease %+v, want deleted_at", l)
		}
	}
}

// TestExecMintedBadAnswer: a create answer that lacks the key still names
// the key it made, which keylease deletes; one that lacks the id names a key
// keylease could never delete, which it therefore never hands out.
func TestExecMintedBadAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, vendor, op, field string
		left                    int    // minted keys left at the vendor (only a missing id leaves one)
		want                    string // on stderr
	}{
		{"openai without the key", "openai", vendorfake.OpOpenAICreateServiceAccount, "api_key", 0, "the answer has no api_key.value"},
		{"xai without the key", "xai", vendorfake.OpXAICreateKey, "apiKey", 0, "the answer has no apiKey"},
		{"openai without the id", "openai", vendorfake.OpOpenAICreateServiceAccount, "id", 1, "delete the key named keylease-lease-openai-eval-4242a1x"},
		{"xai without the id", "xai", vendorfake.OpXAICreateKey, "apiKeyId", 1, "delete the key named keylease-lease-xai-eval-4242a1x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newModes(t, modesRegistry)
			w.env["E2E_AFTER"] = "exit:0"
			f := &w.oa.Faults
			if tc.vendor == "xai" {
				f = &w.xa.Faults
			}
			f.Add(fault.Rule{Op: tc.op, Kind: fault.Field, Field: tc.field})
			res := w.run("vendors", "--env", "eval", "--vendor", tc.vendor)
			if res.code != 3 || !bytes.Contains(res.stderr, []byte(tc.want)) {
				t.Fatalf("exit %d, want 3 saying %q; stderr %s", res.code, tc.want, res.stderr)
			}
			if w.childRan() {
				t.Error("the child ran with a key keylease could not account for")
			}
			if n := w.liveMinted(); n != tc.left {
				t.Errorf("%d minted key(s) left at the vendor, want %d", n, tc.left)
			}
			if l := w.record().Leases[0]; l.Outcome != record.OutcomeFailed || (tc.left == 0) == l.DeletedAt.IsZero() ||
				l.Mode != "minted" || !strings.HasPrefix(l.MintedName, "keylease-lease-"+tc.vendor+"-eval-4242a1x") {
				t.Errorf("record lease %+v", l)
			}
			sum, err := os.ReadFile(w.files["GITHUB_STEP_SUMMARY"])
			testkit.Must(t, err)
			if want := map[int]string{0: ", deleted ", 1: "no key id known"}[tc.left]; !strings.Contains(string(sum), want) {
				t.Errorf("summary lacks %q:\n%s", want, sum)
			}
		})
	}
}

// TestExecMintedDeleteFails: a minted key the vendor will not delete is a
// lease error (exit 3) although the command succeeded, named by id and name
// on stderr and in the record's delete_error; the other minted key is still
// deleted, and nothing of either key or the admin keys is printed.
func TestExecMintedDeleteFails(t *testing.T) {
	t.Parallel()
	w := newModes(t, modesRegistry)
	w.check("OPENAI_API_KEY:openai", "XAI_API_KEY:xai")
	w.env["E2E_AFTER"] = "exit:0"
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIDeleteServiceAccount, Kind: fault.Error, Status: 500})
	res := w.run("vendors", "--env", "eval", "--vendor", "openai", "--vendor", "xai")
	if res.code != 3 {
		t.Fatalf("exit %d, want 3 (a key left at the vendor); stderr %s", res.code, res.stderr)
	}
	if w.verdict("OPENAI_API_KEY") != "valid" {
		t.Error("the command did not get a working key")
	}
	if n := w.oa.ServiceAccounts("proj_eval"); n != 1 {
		t.Errorf("%d OpenAI service account(s) left, want the one the vendor would not delete", n)
	}
	if n := w.xa.Keys("team-eval"); n != 0 {
		t.Errorf("%d xAI key(s) left: one failed deletion must not stop the others", n)
	}
	rec := w.record()
	oa := rec.Leases[0]
	if oa.DeleteError == "" || !oa.DeletedAt.IsZero() || !strings.Contains(oa.DeleteError, "http 500") {
		t.Errorf("openai record lease %+v, want delete_error and no deleted_at", oa)
	}
	for _, want := range []string{oa.VendorID, oa.MintedName, "orphaned-minted-key"} {
		if want == "" || !bytes.Contains(res.stderr, []byte(want)) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if xl := rec.Leases[1]; xl.DeletedAt.IsZero() || xl.DeleteError != "" {
		t.Errorf("xai record lease %+v, want deleted", xl)
	}
}

// TestExecFederatedOwnAudience: a federation whose audience is the AWS
// session's (or Vault's) is refused before any token is requested for it:
// the vendor would hold a token good for assuming keylease's role.
func TestExecFederatedOwnAudience(t *testing.T) {
	t.Parallel()
	w := newModes(t, modesRegistry)
	w.check("ANTHROPIC_AUTH_TOKEN:anthropic-oauth")
	res := w.run("vendors", "--env", "prod", "--vendor", "anthropic", "--audience", "https://api.anthropic.com")
	if res.code != 3 || !bytes.Contains(res.stderr, []byte("is the audience of keylease's AWS session (--audience)")) {
		t.Fatalf("exit %d, want 3 refusing the AWS audience; stderr %s", res.code, res.stderr)
	}
	if ex := w.an.Exchanged(); len(ex) != 0 {
		t.Errorf("anthropic was sent %d token(s) for the AWS audience", len(ex))
	}
	if w.childRan() {
		t.Error("the child ran")
	}
}

// TestExecMintedDeletesAtOnce: the minted keys are deleted concurrently, so
// a slow vendor does not delay another's deletion past the seconds a
// cancelled job has before it is killed.
func TestExecMintedDeletesAtOnce(t *testing.T) {
	t.Parallel()
	w := newModes(t, modesRegistry)
	w.check("OPENAI_API_KEY:openai", "XAI_API_KEY:xai")
	w.env["E2E_AFTER"] = "exit:0"
	const slow = 3 * time.Second
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIDeleteServiceAccount, Kind: fault.Latency, Delay: slow})
	w.xa.Faults.Add(fault.Rule{Op: vendorfake.OpXAIDeleteKey, Kind: fault.Latency, Delay: slow})
	deletes := func() (int, int) {
		return w.oa.Faults.Count(vendorfake.OpOpenAIDeleteServiceAccount), w.xa.Faults.Count(vendorfake.OpXAIDeleteKey)
	}
	cmd, stdout, stderr := w.startWhen("a deletion", func() bool { a, b := deletes(); return a+b > 0 },
		"--env", "eval", "--vendor", "openai", "--vendor", "xai")
	time.Sleep(slow / 2)
	a, b := deletes()
	res := w.wait(cmd, stdout, stderr)
	if a != 1 || b != 1 {
		t.Errorf("%d OpenAI and %d xAI deletion(s) under way %s after the first began: one waited for the other", a, b, slow/2)
	}
	if res.code != 0 || w.liveMinted() != 0 {
		t.Errorf("exit %d, %d minted key(s) left; stderr %s", res.code, w.liveMinted(), res.stderr)
	}
}

// TestExecMintedSignalDuringMint: SIGTERM while the create call is in
// flight (the vendor makes the key, its answer is slow) does not abandon
// the call: keylease learns the key's id from the answer and deletes it.
func TestExecMintedSignalDuringMint(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	w := newModes(t, modesRegistry)
	w.check("OPENAI_API_KEY:openai")
	w.oa.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAICreateServiceAccount, Kind: fault.Latency, Delay: 2 * time.Second})
	cmd, stdout, stderr := w.startWhen("the create call", func() bool { return w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount) >= 1 },
		"--env", "eval", "--vendor", "openai")
	testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
	res := w.wait(cmd, stdout, stderr)
	time.Sleep(2500 * time.Millisecond) // past the create's latency: a key made after keylease left would show now
	if n := w.oa.ServiceAccounts("proj_eval"); n != 0 {
		t.Errorf("%d service account(s) left after SIGTERM during the create call", n)
	}
	if res.code != 3 || w.childRan() {
		t.Errorf("exit %d (want 3), child ran %v; stderr %s", res.code, w.childRan(), res.stderr)
	}
	if l := w.record().Leases[0]; l.DeletedAt.IsZero() || l.VendorID == "" {
		t.Errorf("record lease %+v, want the key named and deleted", l)
	}
}

// startWhen starts exec (the vendors child) with args and returns once cond
// holds, killing keylease and failing the test if it never does.
func (w *modesWorld) startWhen(what string, cond func() bool, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	w.t.Helper()
	cmd := w.command("vendors", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	testkit.Must(w.t, cmd.Start())
	for i := 0; !cond(); i++ {
		if i > 4000 {
			_ = cmd.Process.Kill()
			w.t.Fatalf("%s never happened; stderr %s", what, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd, &stdout, &stderr
}

// wait waits for a run startWhen began and passes its outputs through the
// canary.
func (w *modesWorld) wait(cmd *exec.Cmd, stdout, stderr *bytes.Buffer) e2eResult {
	w.t.Helper()
	_ = cmd.Wait()
	res := e2eResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.Bytes(), stderr: stderr.Bytes(), outputs: w.outputs()}
	w.canary(res)
	return res
}
