package vault

import (
	"context"
	"errors"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/vaultfake"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/store"
)

// A local run without OIDC reads with the user's VAULT_TOKEN and leaves it
// alone at the end (it is not keylease's to revoke); without one it fails
// naming the ref and what to do.
func TestLocalToken(t *testing.T) {
	v, err := vaultfake.Start("http://127.0.0.1:1/unused-issuer", "jwt", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Close() }()
	v.AddRole("dev", vaultfake.Role{Paths: []string{"secret/openai"}})
	const key = "sk-proj-local-0123456789abcdefghij"
	v.Put("secret", "openai/dev", map[string]any{"api_key": key})
	t.Setenv("VAULT_ADDR", v.URL())
	t.Setenv("VAULT_TOKEN", "")
	noOIDC := func(context.Context, string) (secret.Value, bool, error) { return secret.Value{}, false, nil }
	ref, err := registry.ParseRef("vault://secret/openai/dev#api_key", nil)
	if err != nil {
		t.Fatal(err)
	}

	s := New(Options{Backend: registry.StoreBackend{Role: "dev", AuthMount: "jwt", Audience: "vault"}, JWT: noOIDC, LocalToken: v.IssueToken("dev")})
	got, vid, err := s.Fetch(context.Background(), ref)
	if err != nil || string(got.Bytes()) != key || vid != "1" {
		t.Fatalf("Fetch = %d bytes, %q, %v", got.Len(), vid, err)
	}
	if err := s.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if logins, revoked, live := v.Stats(); logins != 0 || revoked != 0 || live != 1 {
		t.Errorf("%d login(s), %d revoked, %d live: the user's token must be used as it is and kept", logins, revoked, live)
	}

	_, _, err = New(Options{Backend: registry.StoreBackend{Role: "dev"}, JWT: noOIDC}).Fetch(context.Background(), ref)
	var se *store.Error
	if !errors.As(err, &se) || se.Code != store.CodeAuth || se.Ref != ref.Raw {
		t.Fatalf("no OIDC and no VAULT_TOKEN: %v", err)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), append(v.Secrets(), key)...)
}
