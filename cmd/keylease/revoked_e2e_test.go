package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// TestExecRefusesTombstone: the secret's AWSCURRENT is a revocation
// tombstone while the registry still says nothing of a revocation (a stale
// registry). exec exits 3 with "revoked on DATE (reason)", runs no child,
// and the message, the output and every file are value-free. The ref is
// read as a plain key, with #api_key (a JSON field is expected), and as
// binary: each must recognise the tombstone, not report a missing field.
func TestExecRefusesTombstone(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	tomb, err := keyform.EncodeTombstone(at, "suspected-leak")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		bin  bool
	}{
		{"plain ref", []string{"--vendor", "openai"}, false},
		{"json key ref", []string{"--ref", "OPENAI_API_KEY=kv://openai/ci/api_key#api_key"}, false},
		{"binary secret", []string{"--vendor", "openai"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			// The old key stays in the canary set: it must not come back.
			v := smfake.Value{String: string(tomb)}
			if tt.bin {
				v = smfake.Value{Binary: bytes.Clone(tomb)}
			}
			r.stack.SM.Put(r.stack.Region, "openai/ci/api_key", v)
			res := r.run("sha", tt.args...)
			if res.code != 3 {
				t.Fatalf("exit %d, want 3; stderr %s", res.code, res.stderr)
			}
			if r.childRan() {
				t.Fatal("the child ran on a revoked secret")
			}
			want := "revoked on 2026-12-01T09:30:00Z (suspected-leak)"
			if !strings.Contains(string(res.stderr), want) {
				t.Fatalf("stderr does not say %q:\n%s", want, res.stderr)
			}
			for _, bad := range []string{"JSONKeyNotFound", "BadKeyForm", "PrefixMismatch"} {
				if strings.Contains(string(res.stderr), bad) {
					t.Errorf("stderr reports %s instead of the revocation:\n%s", bad, res.stderr)
				}
			}
			// The record, too, says revoked.
			recs, _ := filepath.Glob(filepath.Join(r.dir, "runner-temp", "keylease", "keylease-record-*.json"))
			if len(recs) != 1 {
				t.Fatalf("records %v", recs)
			}
			b, err := os.ReadFile(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte("revoked on 2026-12-01T09:30:00Z")) {
				t.Errorf("the record does not say revoked:\n%s", b)
			}
		})
	}
}

// revokeE2ERegistry is e2eRegistry's openai part with an admin entry and a
// mint rotation, as revoke needs.
const revokeE2ERegistry = `openai:
  admin:
    secret_ref: "kv://openai/admin/api_key"
    scope: ["admin"]
    max_ttl_seconds: 300
    role: admin
  ci:
    secret_ref: "kv://openai/ci/api_key"
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    rotation:
      method: mint
      admin: admin
      project_id: "proj_e2e"
`

// keylease runs the real binary with args in r's environment.
func (r *e2e) keylease(args ...string) e2eResult {
	r.t.Helper()
	cmd := exec.Command(keyleaseBin, args...)
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return r.runCmd(cmd)
}

// TestRevokeE2E: the real binary revokes openai.ci (the minted
// service account is deleted at the emulator, the tombstone is AWSCURRENT),
// then exec with the old registry, which does not say revoked, exits 3
// "revoked on"; a second revoke reports already revoked, exit 0. Every
// output and file passes the canary.
func TestRevokeE2E(t *testing.T) {
	t.Parallel()
	// A subtest: its temp dir's name breaks the run of letters and digits
	// that the settings' entropy check refuses as a path in a flag.
	t.Run("stale_registry", func(t *testing.T) { t.Parallel(); revokeThenLease(t) })
	t.Run("incident_planted_copy", func(t *testing.T) { t.Parallel(); incidentFindsCopy(t) })
}

// revokeWorld is an e2e world whose openai.ci secret is a minted service
// account's key in the JSON form, with an admin entry to revoke it.
type revokeWorld struct {
	*e2e
	oa       *vendorfake.OpenAI
	check    *vendorapi.OpenAI
	key      secret.Value
	reg, pol string
}

func newRevokeWorld(t *testing.T) *revokeWorld {
	r := newE2E(t)
	oa := testkit.OpenAI(t)
	r.env["OPENAI_BASE_URL"] = oa.BaseURL()
	admin := oa.AddAdminKey()
	c, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: func(k string) string { return r.env[k] }})
	testkit.Must(t, err)
	m, err := c.Project(secret.FromString(admin), "proj_e2e").Mint(context.Background(), "ci")
	testkit.Must(t, err)
	form, err := keyform.Encode(m.Key, m.KeyID, map[string]string{"retire_id": m.ID})
	testkit.Must(t, err)
	r.stack.Seed("openai/admin/api_key", admin)
	r.stack.Seed("openai/ci/api_key", string(form.Bytes()))
	r.extra = append(r.extra, admin, string(m.Key.Bytes()), string(form.Bytes()))
	r.keys["OPENAI_API_KEY"] = string(m.Key.Bytes())
	r.env["E2E_VARS"] = "OPENAI_API_KEY"
	w := &revokeWorld{e2e: r, oa: oa, check: c, key: m.Key, reg: filepath.Join(r.dir, "revoke-registry.yaml"), pol: filepath.Join(r.dir, "revoke-policy.json")}
	testkit.WriteFile(t, w.reg, revokeE2ERegistry)
	testkit.WriteFile(t, w.pol, `{"version":1,"allowed_secrets":["openai"],"required_prefix":{"openai":"sk-"},
"flags":{"no_logging":true,"no_persistence":true},"ttl_caps_seconds":{"admin":300,"ci":900},
"backends":{"kv":{"type":"aws-secretsmanager","name_template":"{path}"}}}`)
	return w
}

func revokeThenLease(t *testing.T) {
	w := newRevokeWorld(t)
	r, oa, c, m, reg := w.e2e, w.oa, w.check, struct{ Key secret.Value }{w.key}, w.reg
	res := r.keylease("revoke", "--vendor", "openai", "--env", "ci", "--reason", "suspected-leak", "--registry", reg, "--policy", w.pol, "--registry-update", "write")
	if res.code != 0 {
		t.Fatalf("revoke: exit %d\n%s", res.code, res.stderr)
	}
	if v, _ := c.Check(context.Background(), m.Key); v != vendorapi.Invalid || oa.ServiceAccounts("proj_e2e") != 0 {
		t.Fatalf("after revoke the key is %s, %d service accounts", v, oa.ServiceAccounts("proj_e2e"))
	}
	b, err := os.ReadFile(reg)
	testkit.Must(t, err)
	if !strings.Contains(string(b), "revoked: true") || !strings.Contains(string(b), "revoked_at: ") {
		t.Fatalf("registry not updated:\n%s", b)
	}
	// exec with the stale registry (KEYLEASE_REGISTRY: no revoked there).
	res = r.run("sha", "--vendor", "openai")
	if res.code != 3 || !strings.Contains(string(res.stderr), "revoked on ") || !strings.Contains(string(res.stderr), "(suspected-leak)") || r.childRan() {
		t.Fatalf("exec after revoke: exit %d, child ran %v\n%s", res.code, r.childRan(), res.stderr)
	}
	res = r.keylease("revoke", "--vendor", "openai", "--env", "ci", "--reason", "suspected-leak", "--registry", reg, "--policy", w.pol, "--registry-update", "write")
	if res.code != 0 || !strings.Contains(string(res.stderr), "already revoked") {
		t.Fatalf("second revoke: exit %d\n%s", res.code, res.stderr)
	}
	recs, _ := filepath.Glob(filepath.Join(r.dir, "runner-temp", "keylease", "keylease-revocation-openai-ci-*.json"))
	if len(recs) != 2 {
		t.Fatalf("revocation records %v", recs)
	}
}

// incidentFindsCopy: keylease incident with a planted copy of the key in a
// scanned directory exits 4; the record names the file and line, not the
// value; the key is dead at the vendor and a replacement is AWSCURRENT.
func incidentFindsCopy(t *testing.T) {
	w := newRevokeWorld(t)
	// Outside the world's dir, which the canary reads whole: this file
	// holds the key on purpose.
	dir := t.TempDir()
	testkit.WriteFile(t, filepath.Join(dir, "leak.env"), "# pasted by mistake\nOPENAI_API_KEY="+string(w.key.Bytes())+"\n")
	testkit.WriteFile(t, filepath.Join(dir, "README"), "nothing\n")
	res := w.keylease("incident", "--vendor", "openai", "--env", "ci", "--type", "confirmed-leak", "--registry", w.reg, "--policy", w.pol,
		"--registry-update", "write", "--scan", dir)
	if res.code != 4 {
		t.Fatalf("incident: exit %d, want 4\n%s", res.code, res.stderr)
	}
	if v, _ := w.check.Check(context.Background(), w.key); v != vendorapi.Invalid {
		t.Fatalf("the leaked key is %s", v)
	}
	// One service account left: the replacement (the canary finds any
	// vendor-shaped key, so the new key is covered too).
	if w.oa.ServiceAccounts("proj_e2e") != 1 {
		t.Fatalf("%d service accounts, want the replacement only", w.oa.ServiceAccounts("proj_e2e"))
	}
	recs, _ := filepath.Glob(filepath.Join(w.dir, "runner-temp", "keylease", "keylease-incident-openai-ci-*.json"))
	if len(recs) != 1 {
		t.Fatalf("incident records %v", recs)
	}
	b, err := os.ReadFile(recs[0])
	testkit.Must(t, err)
	want := `"path": "` + filepath.Join(dir, "leak.env") + `"`
	if !bytes.Contains(b, []byte(want)) || !bytes.Contains(b, []byte(`"line": 2`)) {
		t.Fatalf("the record does not name %s line 2:\n%s", want, b)
	}
}
