package op

import (
	"bytes"
	"slices"
	"testing"

	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/store"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for stderr, want := range map[string]string{
		`[ERROR] 2026/12/01 10:00:00 could not read secret 'op://v/i/f': "i" isn't an item in the "v" vault.`: store.CodeNotFound,
		`[ERROR] 2026/12/01 10:00:00 "v" isn't a vault in this account.`:                                      store.CodeNotFound,
		`[ERROR] 2026/12/01 10:00:00 item 'i' does not have a field 'f'`:                                      store.CodeNotFound,
		`[ERROR] 2026/12/01 10:00:00 You do not have permission to access vault "v"`:                          store.CodeDenied,
		"[ERROR] 2026/12/01 10:00:00 You are not currently signed in.":                                        store.CodeAuth,
		`[ERROR] 2026/12/01 10:00:00 invalid service account token`:                                           store.CodeAuth,
		`[ERROR] 2026/12/01 10:00:00 Post "https://x": dial tcp: lookup x: no such host`:                      store.CodeUnavailable,
		"[ERROR] something new": store.CodeUnavailable,
	} {
		code, msg, hint := classify([]byte(stderr), registry.Ref{Raw: "op://v/i/f", SecretID: "v/i/f"})
		if code != want || msg == "" || hint == "" {
			t.Errorf("%q: %s (%q; %q), want %s", stderr, code, msg, hint, want)
		}
	}
}

// The ref and the names op quotes from it do not decide the class: an item
// named "network" that may not be read is PermissionDenied, not an outage.
func TestClassifyIgnoresTheRef(t *testing.T) {
	t.Parallel()
	ref, err := registry.ParseRef("op://not found/network timeout/permission", nil)
	if err != nil {
		t.Fatal(err)
	}
	for stderr, want := range map[string]string{
		`[ERROR] 2026/12/01 10:00:00 could not read secret 'op://not found/network timeout/permission': You do not have permission to access vault "not found" (forbidden)`: store.CodeDenied,
		`[ERROR] 2026/12/01 10:00:00 could not read secret 'op://not found/network timeout/permission': "network timeout" isn't an item in the "not found" vault.`:          store.CodeNotFound,
		`[ERROR] 2026/12/01 10:00:00 item 'network timeout' does not have a field 'permission'`:                                                                             store.CodeNotFound,
	} {
		if code, _, _ := classify([]byte(stderr), ref); code != want {
			t.Errorf("%q: %s, want %s", stderr, code, want)
		}
	}
}

func TestOPEnv(t *testing.T) {
	t.Parallel()
	got := opEnv([]string{"PATH=/bin", "HOME=/h", "OP_SERVICE_ACCOUNT_TOKEN=ops_x", "op_lower=1", "AWS_SECRET_ACCESS_KEY=s",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=t", "OPENAI_API_KEY=sk-x", "GITHUB_ENV=/f", "KEYLEASE_SECRETS_ENV=A=b", "https_proxy=http://p", "noequals"})
	want := []string{"PATH=/bin", "HOME=/h", "OP_SERVICE_ACCOUNT_TOKEN=ops_x", "op_lower=1", "https_proxy=http://p"}
	if !slices.Equal(got, want) {
		t.Errorf("opEnv = %q, want %q", got, want)
	}
}

func TestCapped(t *testing.T) {
	t.Parallel()
	c := &capped{max: 1000}
	chunk := bytes.Repeat([]byte("x"), 300)
	for range 4 {
		if n, err := c.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if len(c.b) != 1000 || !c.over {
		t.Errorf("kept %d bytes, over %v; want 1000 and over", len(c.b), c.over)
	}
}
