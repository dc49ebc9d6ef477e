// Package vault reads vault://MOUNT/PATH#FIELD refs from HashiCorp Vault or
// OpenBao (KV v2) through the official client, github.com/hashicorp/vault/api.
// keylease logs in with the job's OIDC token (JWT auth, the policy's
// backends.vault role), reads the field, and revokes the token when the
// lease ends. The client's standard variables (VAULT_ADDR, VAULT_NAMESPACE,
// VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_TLS_SERVER_NAME, …)
// configure it; VAULT_TOKEN is used only on a local run without OIDC, and
// is then not revoked (it is the user's).
package vault

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/store"
)

// LoginGrace is how long a JWT login already sent may still run after a
// signal: its answer is what lets Release revoke the token.
const LoginGrace = 5 * time.Second

// Options say how the store logs in.
type Options struct {
	Backend registry.StoreBackend // role, auth mount and audience
	// JWT returns the job's OIDC token for audience, or ok false when there
	// is no OIDC endpoint (a local run), and registers it with the maskers.
	JWT func(ctx context.Context, audience string) (tok secret.Value, ok bool, err error)
	// LocalToken is VAULT_TOKEN, used only when JWT has no token.
	LocalToken string
	// OnToken registers the Vault token with the maskers before it is used.
	OnToken func(secret.Value) error
}

// Store is one Vault session, opened by the first Fetch.
type Store struct {
	o      Options
	client *api.Client
	owned  bool // the token is ours (from the JWT login) and is revoked
	// loginErr is a login whose token could not be registered with the
	// maskers: no read may use that token.
	loginErr error
	// redirected is the status of a redirect Vault answered with, or 0.
	redirected int
}

// New is a store that logs in on its first Fetch.
func New(o Options) *Store { return &Store{o: o} }

// Fetch logs in (once), reads the KV v2 secret at MOUNT/PATH and returns its
// FIELD and version.
func (s *Store) Fetch(ctx context.Context, ref registry.Ref) (secret.Value, string, error) {
	fail := func(code, msg, hint string, cause error) (secret.Value, string, error) {
		return secret.Value{}, "", store.NewError(registry.StoreVault, ref.Raw, code, msg, hint, cause)
	}
	if s.loginErr != nil {
		return secret.Value{}, "", s.loginErr
	}
	if s.client == nil {
		if err := s.login(ctx, ref); err != nil {
			return secret.Value{}, "", err
		}
	}
	kv, err := s.client.KVv2(ref.Mount).Get(ctx, ref.SecretID)
	switch code := s.status(err); {
	case isRedirect(code):
		return fail(store.CodeUnavailable, "Vault answered with a redirect"+statusText(code)+", which keylease does not follow (it would carry the Vault token elsewhere)",
			"set VAULT_ADDR to the address that serves the request (the active node or the load balancer), not one that redirects", nil)
	case err == nil:
	case errors.Is(err, api.ErrSecretNotFound) || code == http.StatusNotFound:
		return fail(store.CodeNotFound, "Vault has no KV v2 secret at this mount and path (or it was deleted)",
			"check the mount ("+ref.Mount+") and path, and that the mount is KV version 2", nil)
	case code == http.StatusForbidden:
		return fail(store.CodeDenied, "Vault's policy for role "+s.o.Backend.Role+" does not allow reading this path",
			"grant read on "+ref.Mount+"/data/"+ref.SecretID+" to the role's token policies", nil)
	case ctx.Err() != nil:
		return fail(store.CodeUnavailable, "Vault did not answer before the setup deadline", "check VAULT_ADDR and the network, or raise --setup-timeout", ctx.Err())
	default:
		return fail(store.CodeUnavailable, "Vault could not be read"+statusText(code),
			"check VAULT_ADDR, VAULT_CACERT, VAULT_NAMESPACE and that Vault is unsealed, then retry", nil)
	}
	raw, ok := kv.Data[ref.JSONKey]
	if !ok {
		return fail(store.CodeNotFound, "the secret has no field "+ref.JSONKey, "fix the #FIELD of the ref (fields are case-sensitive)", nil)
	}
	str, ok := raw.(string)
	if !ok {
		return fail(store.CodeBadValue, "field "+ref.JSONKey+" is not a string", "store the key as a string", nil)
	}
	vid := ""
	if kv.VersionMetadata != nil {
		vid = strconv.Itoa(kv.VersionMetadata.Version)
	}
	return secret.FromString(str), vid, nil
}

// login builds the client from the VAULT_* variables and logs in.
func (s *Store) login(ctx context.Context, ref registry.Ref) error {
	fail := func(code, msg, hint string, cause error) error {
		return store.NewError(registry.StoreVault, ref.Raw, code, msg, hint, cause)
	}
	cfg := api.DefaultConfig() // reads VAULT_ADDR, VAULT_CACERT, … ; cfg.Error says which failed
	if cfg == nil || cfg.Error != nil {
		return fail(store.CodeUnavailable, "the VAULT_* TLS settings cannot be used", "check VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY", nil)
	}
	// The client follows one redirect to any host, resending X-Vault-Token
	// and the login body (the job's OIDC token) there; whatever
	// VAULT_DISABLE_REDIRECTS says, keylease follows none.
	cfg.DisableRedirects = true
	if msg, hint := insecure(cfg); msg != "" {
		return fail(store.CodeRefused, msg, hint, nil)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return fail(store.CodeUnavailable, "the Vault client cannot be set up", "check VAULT_ADDR (e.g. https://vault.example.com:8200)", nil)
	}
	// An unfollowed redirect reads as an empty 2xx to the client's callers
	// (a KV read: "not found"); the callback sees its status.
	c = c.WithResponseCallbacks(func(r *api.Response) {
		if isRedirect(r.StatusCode) {
			s.redirected = r.StatusCode
		}
	})
	// VAULT_WRAP_TTL would wrap the login's token and the secret in
	// response-wrapping tokens that keylease neither unwraps nor revokes.
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	c.ClearToken() // NewClient took VAULT_TOKEN; the JWT login decides
	jwt, ok, err := s.o.JWT(ctx, s.o.Backend.Audience)
	if err != nil {
		return err
	}
	if !ok {
		if s.o.LocalToken == "" {
			return fail(store.CodeAuth, "no OIDC token to log in to Vault with, and no VAULT_TOKEN", "run under GitHub Actions with permissions: id-token: write, or locally log in (vault login) and export VAULT_TOKEN", nil)
		}
		c.SetToken(s.o.LocalToken)
		s.client = c
		return nil
	}
	defer jwt.Wipe()
	path := "auth/" + s.o.Backend.AuthMount + "/login"
	// A signal must not cut the login short once sent: Vault may have
	// issued the token, and only the answer lets Release revoke it. The
	// login keeps the setup deadline, and LoginGrace more at most after a
	// signal.
	dl, hasDL := ctx.Deadline()
	if !hasDL {
		dl = time.Now().Add(LoginGrace)
	}
	lctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl)
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(LoginGrace, cancel) })
	sec, err := c.Logical().WriteWithContext(lctx, path, map[string]any{"role": s.o.Backend.Role, "jwt": string(jwt.Bytes())})
	stop()
	cancel()
	if code := s.status(err); err != nil || isRedirect(code) || sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		switch {
		case ctx.Err() != nil:
			return fail(store.CodeUnavailable, "Vault's JWT login did not answer before the setup deadline", "check VAULT_ADDR and the network, or raise --setup-timeout", ctx.Err())
		case isRedirect(code):
			return fail(store.CodeUnavailable, "Vault's JWT login answered with a redirect"+statusText(code)+", which keylease does not follow (it would carry the OIDC token elsewhere)",
				"set VAULT_ADDR to the address that serves the request (the active node or the load balancer), not one that redirects", nil)
		case code == http.StatusBadRequest || code == http.StatusForbidden || code == http.StatusUnauthorized:
			return fail(store.CodeAuth, "Vault refused the JWT login as role "+s.o.Backend.Role+" at "+path+statusText(code),
				"check the role's bound_audiences ("+s.o.Backend.Audience+"), bound_claims and the auth method's OIDC discovery URL or JWKS", nil)
		case err == nil:
			return fail(store.CodeAuth, "Vault's JWT login returned no token", "check the auth method at "+path, nil)
		}
		return fail(store.CodeUnavailable, "Vault's JWT login failed"+statusText(code), "check VAULT_ADDR, VAULT_NAMESPACE and the auth mount (backends.vault.auth_mount)", nil)
	}
	c.SetToken(sec.Auth.ClientToken)
	// Ours from here on: Release revokes it, also when registering it fails.
	s.client, s.owned = c, true
	if s.o.OnToken != nil {
		if err := s.o.OnToken(secret.FromString(sec.Auth.ClientToken)); err != nil {
			s.loginErr = err
			return err
		}
	}
	if ctx.Err() != nil {
		s.loginErr = fail(store.CodeUnavailable, "interrupted during the JWT login; the token it issued is revoked", "", ctx.Err())
		return s.loginErr
	}
	return nil
}

// Release revokes the token keylease logged in for (auth/token/revoke-self).
func (s *Store) Release(ctx context.Context) error {
	if s.client == nil || !s.owned {
		return nil
	}
	c := s.client
	s.client = nil
	if err := c.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil || isRedirect(s.redirected) {
		return store.NewError(registry.StoreVault, "token", store.CodeUnavailable, "revoking keylease's Vault token failed"+statusText(s.status(err)),
			"it expires with its TTL; revoke it by accessor if the role's TTL is long", nil)
	}
	return nil
}

func isRedirect(code int) bool { return code >= 300 && code < 400 }

// insecure refuses the settings under which the JWT, the Vault token and the
// value travel unprotected: TLS verification off (VAULT_SKIP_VERIFY), or
// plain http to anything but this machine.
func insecure(cfg *api.Config) (msg, hint string) {
	if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		return "VAULT_SKIP_VERIFY turns off the verification of Vault's certificate, and keylease sends its login token and reads keys over that connection",
			"unset VAULT_SKIP_VERIFY and name Vault's CA in VAULT_CACERT (or VAULT_CAPATH)"
	}
	u, err := url.Parse(cfg.Address)
	if err != nil {
		return "VAULT_ADDR is not a URL", "set VAULT_ADDR to Vault's address, e.g. https://vault.example.com:8200"
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "VAULT_ADDR is plain http to another host, so the login token and the key would cross the network unencrypted",
			"use Vault's https:// address (plain http is accepted only for 127.0.0.1, ::1 and localhost)"
	}
	return "", ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// status is the HTTP status of the last answer when it was a redirect
// (which keylease does not follow), else that of a Vault error, or 0.
func (s *Store) status(err error) int {
	if isRedirect(s.redirected) {
		return s.redirected
	}
	return status(err)
}

// status is the HTTP status of a Vault error, or 0.
func status(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return " (HTTP " + strconv.Itoa(code) + ")"
}
