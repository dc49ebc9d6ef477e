package vault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/oidcfake"
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
	// Response wrapping would hide the value in a token keylease never
	// unwraps or revokes: it is never asked for.
	t.Setenv("VAULT_WRAP_TTL", "5m")
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
	if n := v.Wrapped(); n != 0 {
		t.Errorf("%d request(s) asked for response wrapping (VAULT_WRAP_TTL)", n)
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

func mustRef(t *testing.T, raw string) registry.Ref {
	t.Helper()
	ref, err := registry.ParseRef(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func noOIDC(context.Context, string) (secret.Value, bool, error) {
	return secret.Value{}, false, nil
}

// A Vault that redirects (a standby, a proxy pointing elsewhere) is not
// followed: the official client would resend X-Vault-Token (and a login's
// OIDC token) to whatever host the Location names.
func TestRedirectNotFollowed(t *testing.T) {
	other, err := vaultfake.Start("http://127.0.0.1:1/unused-issuer", "jwt", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	v, err := vaultfake.Start("http://127.0.0.1:1/unused-issuer", "jwt", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Close() }()
	v.AddRole("dev", vaultfake.Role{Paths: []string{"secret/openai"}})
	tok := v.IssueToken("dev")
	v.RedirectTo(other.URL())
	t.Setenv("VAULT_ADDR", v.URL())
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv("VAULT_DISABLE_REDIRECTS", "false")
	ref := mustRef(t, "vault://secret/openai/dev#api_key")

	_, _, err = New(Options{Backend: registry.StoreBackend{Role: "dev"}, JWT: noOIDC, LocalToken: tok}).Fetch(context.Background(), ref)
	if all, withToken := other.Requests(); all != 0 {
		t.Fatalf("the redirect was followed: the other server got %d request(s), %d with the Vault token", all, withToken)
	}
	var se *store.Error
	if !errors.As(err, &se) || se.Code != store.CodeUnavailable || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("Fetch through a redirect: %v; want StoreUnavailable saying it was a redirect", err)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), tok)
}

// Settings under which the tokens and the key would travel unprotected are
// refused before anything is sent.
func TestInsecureSettingsRefused(t *testing.T) {
	v, _, err := vaultfake.StartTLS("http://127.0.0.1:1/unused-issuer", "jwt", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Close() }()
	v.AddRole("dev", vaultfake.Role{Paths: []string{"secret/openai"}})
	v.Put("secret", "openai/dev", map[string]any{"api_key": "sk-proj-tls-0123456789abcdefghij"})
	tok := v.IssueToken("dev")
	ref := mustRef(t, "vault://secret/openai/dev#api_key")
	for name, env := range map[string]map[string]string{
		"skip verify":          {"VAULT_ADDR": v.URL(), "VAULT_SKIP_VERIFY": "true"},
		"plain http elsewhere": {"VAULT_ADDR": "http://vault.invalid:8200", "VAULT_SKIP_VERIFY": ""},
	} {
		t.Run(name, func(t *testing.T) {
			for k, val := range env {
				t.Setenv(k, val)
			}
			t.Setenv("VAULT_TOKEN", "")
			got, _, err := New(Options{Backend: registry.StoreBackend{Role: "dev"}, JWT: noOIDC, LocalToken: tok}).Fetch(context.Background(), ref)
			var se *store.Error
			if !errors.As(err, &se) || se.Code != store.CodeRefused {
				t.Fatalf("Fetch = %d bytes, %v; want Refused", got.Len(), err)
			}
			leakcheck.Assert(t, "error", []byte(err.Error()), tok, "sk-proj-tls-0123456789abcdefghij")
		})
	}
	if all, _ := v.Requests(); all != 0 {
		t.Errorf("%d request(s) reached Vault over an unverified connection", all)
	}
}

// jwtVault is a Vault emulator (VAULT_ADDR) whose JWT auth trusts an OIDC
// emulator, with role ci reading secret/openai/ci, and the JWT source of a
// job on that issuer.
func jwtVault(t *testing.T) (*vaultfake.Server, func(context.Context, string) (secret.Value, bool, error)) {
	t.Helper()
	iss, err := oidcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	v, err := vaultfake.Start(iss.Issuer(), "jwt", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	v.AddRole("ci", vaultfake.Role{Audience: "vault", Paths: []string{"secret/openai"}})
	v.Put("secret", "openai/ci", map[string]any{"api_key": "sk-proj-ci-0123456789abcdefghijkl"})
	t.Setenv("VAULT_ADDR", v.URL())
	t.Setenv("VAULT_TOKEN", "")
	return v, func(_ context.Context, aud string) (secret.Value, bool, error) {
		tok, err := iss.Mint(aud, false)
		return secret.FromString(tok), true, err
	}
}

// A login whose token cannot be registered with the maskers fails the
// fetch, and Release still revokes that token.
func TestTokenRevokedWhenRegistrationFails(t *testing.T) {
	v, jwt := jwtVault(t)
	errRegister := errors.New("register a value with the runner's masker: write /dev/stdout: broken pipe")
	s := New(Options{Backend: registry.StoreBackend{Role: "ci", AuthMount: "jwt", Audience: "vault"}, JWT: jwt,
		OnToken: func(secret.Value) error { return errRegister }})
	ref := mustRef(t, "vault://secret/openai/ci#api_key")
	for range 2 { // a second fetch must not read with the unregistered token either
		if got, _, err := s.Fetch(context.Background(), ref); !errors.Is(err, errRegister) || !got.IsZero() {
			t.Fatalf("Fetch = %d bytes, %v; want the registration error", got.Len(), err)
		}
	}
	if err := s.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if logins, revoked, live := v.Stats(); logins != 1 || revoked != 1 || live != 0 {
		t.Errorf("%d login(s), %d revoked, %d live: the token keylease logged in for must be revoked", logins, revoked, live)
	}
}

// A cancel (a signal) during the JWT login does not abandon it: Vault has
// issued the token, the answer arrives, and Release revokes it.
func TestLoginInterruptedTokenRevoked(t *testing.T) {
	v, jwt := jwtVault(t)
	v.SetLoginDelay(time.Second)
	s := New(Options{Backend: registry.StoreBackend{Role: "ci", AuthMount: "jwt", Audience: "vault"}, JWT: jwt})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	got, _, err := s.Fetch(ctx, mustRef(t, "vault://secret/openai/ci#api_key"))
	if err == nil || !got.IsZero() {
		t.Fatalf("Fetch after a cancel = %d bytes, %v; want an error", got.Len(), err)
	}
	if err := s.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if logins, revoked, live := v.Stats(); logins != 1 || revoked != 1 || live != 0 {
		t.Errorf("%d login(s), %d revoked, %d live: the token issued during the cancelled login must be revoked", logins, revoked, live)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), v.Secrets()...)
}
