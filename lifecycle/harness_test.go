package lifecycle

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

const project = "proj_abc"

// world is one rotation's emulators: OIDC, STS and Secrets Manager, the
// OpenAI admin and validity API, and a registry with an admin entry and a
// mint-rotated ci entry whose current key is a minted service account.
type world struct {
	t        testing.TB
	stack    *emulators.Stack
	oa       *vendorfake.OpenAI
	vars     map[string]string
	dir      string
	reg, pol string
	admin    string
	oldKey   string
	oldSA    string
	oldVID   string
	secrets  []string // every value to leak-check
	stderr   bytes.Buffer
	now      time.Time
}

const registryText = `# keylease registry (test)
openai:
  # the admin key: keylease's own
  admin:
    secret_ref: "aws-sm://openai/admin"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "aws-sm://openai/ci"   # rotated monthly
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-10-01
    rotation:
      method: mint
      admin: admin
      project_id: "proj_abc"
`

const policyText = `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
  "flags": {"no_logging": true, "no_persistence": true},
  "ttl_caps_seconds": {"local": 3600, "admin": 300, "ci": 900, "prod": 300},
  "rotation_days": {"ci": 30, "prod": 14}}`

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	stack, vars := testkit.Stack(t)
	oa := testkit.OpenAI(t)
	w := &world{t: t, stack: stack, oa: oa, vars: vars, dir: t.TempDir(), now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	w.vars["OPENAI_BASE_URL"] = oa.BaseURL()
	w.vars["AWS_CONFIG_FILE"] = filepath.Join(w.dir, "no-config")
	w.vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(w.dir, "no-credentials")
	w.vars["RUNNER_TEMP"] = w.dir
	w.admin = oa.AddAdminKey()
	stack.Seed("openai/admin", w.admin)
	// The current key: a service account minted as a rotation would.
	c, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Project(secret.FromString(w.admin), project).Mint(ctx, "initial")
	if err != nil {
		t.Fatal(err)
	}
	w.oldKey, w.oldSA = string(m.Key.Bytes()), m.ID
	form, err := keyform.Encode(m.Key, m.KeyID, map[string]string{retireIDField: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, w.oldVID = stack.SM.Put(stack.Region, "openai/ci", smfakeValue(string(form.Bytes())))
	w.secrets = []string{w.admin, w.oldKey, string(form.Bytes())}
	w.reg, w.pol = filepath.Join(w.dir, "registry.yaml"), filepath.Join(w.dir, "policy.json")
	write(t, w.reg, registryText)
	write(t, w.pol, policyText)
	stack.SM.Faults.ResetCounts()
	oa.Faults.ResetCounts()
	return w
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (w *world) getenv(k string) string { return w.vars[k] }

func (w *world) options() RotateOptions {
	return RotateOptions{
		Lease: lease.Options{RegistryPath: w.reg, PolicyPath: w.pol, Env: "ci", RoleARN: w.stack.RoleARN,
			OIDCIssuer: w.vars["KEYLEASE_OIDC_ISSUER"], Identity: lease.IdentityOIDC, Version: "test"},
		Vendor: "openai", Env: "ci", RegistryUpdate: UpdateWrite, RetireAfter: 0,
		Now:   func() time.Time { return w.now },
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
}

func (w *world) rotate(o RotateOptions) (*RotateResult, error) {
	w.t.Helper()
	var out bytes.Buffer
	res, err := RunRotate(context.Background(), o, lease.IO{Stdout: &out, Stderr: &w.stderr, Getenv: w.getenv, Environ: func() []string { return nil }})
	w.check("stdout", out.Bytes())
	w.check("stderr", w.stderr.Bytes())
	if err != nil {
		w.check("error", []byte(err.Error()))
	}
	if res != nil {
		for _, p := range res.RecordPaths {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				w.t.Fatal(rerr)
			}
			w.check("record", b)
		}
	}
	return res, err
}

// check asserts that no form of any key of this world appears in b,
// including every key minted so far (read back from the store).
func (w *world) check(what string, b []byte) {
	w.t.Helper()
	for _, s := range w.allSecrets() {
		leakcheck.Assert(w.t, what, b, s)
	}
}

func (w *world) allSecrets() []string {
	out := append([]string(nil), w.secrets...)
	for vid := range w.stack.SM.Stages(w.stack.Region, "openai/ci") {
		if v, ok := w.stack.SM.Value(w.stack.Region, "openai/ci", vid); ok {
			if _, tomb := keyform.ParseTombstone([]byte(v.String)); tomb {
				continue // value-free by design: its date and reason are printed
			}
			out = append(out, v.String)
			if st, err := keyform.Decode(secret.FromString(v.String)); err == nil {
				out = append(out, string(st.Key.Bytes()))
			}
		}
	}
	return out
}

// live reports the verdict of key at the vendor.
func (w *world) verdict(key string) vendorapi.Verdict {
	w.t.Helper()
	c, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: w.getenv})
	v, _ := c.Check(context.Background(), secret.FromString(key))
	return v
}

// current is the key under label stage.
func (w *world) keyAt(stage string) (vid, key string) {
	for id, st := range w.stack.SM.Stages(w.stack.Region, "openai/ci") {
		for _, s := range st {
			if s == stage {
				v, _ := w.stack.SM.Value(w.stack.Region, "openai/ci", id)
				k, err := keyform.Decode(secret.FromString(v.String))
				if err != nil {
					w.t.Fatal(err)
				}
				return id, string(k.Key.Bytes())
			}
		}
	}
	return "", ""
}

// assertRotated: exactly one live key at the vendor, AWSCURRENT valid and
// not the old one, AWSPREVIOUS the old version, no AWSPENDING, the old key
// dead.
func (w *world) assertRotated() {
	w.t.Helper()
	cur, curKey := w.keyAt("AWSCURRENT")
	prev, _ := w.keyAt("AWSPREVIOUS")
	pend, _ := w.keyAt("AWSPENDING")
	if cur == w.oldVID || prev != w.oldVID || pend != "" {
		w.t.Fatalf("labels: current %s previous %s pending %s (old %s)", cur, prev, pend, w.oldVID)
	}
	if v := w.verdict(curKey); v != vendorapi.Valid {
		w.t.Fatalf("AWSCURRENT is %s at the vendor", v)
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Invalid {
		w.t.Fatalf("the old key is %s at the vendor, want invalid (retired)", v)
	}
	if n := w.oa.ServiceAccounts(project); n != 1 {
		w.t.Fatalf("%d service accounts live at the vendor, want exactly 1", n)
	}
}

func smfakeValue(s string) smfake.Value { return smfake.Value{String: s} }

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
