package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/secret"
)

func TestOIDCConfigFromEnvMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"both missing", map[string]string{}, []string{exchange.EnvRequestURL, exchange.EnvRequestToken}},
		{"token missing", map[string]string{exchange.EnvRequestURL: "https://x.test/t?api-version=2.0"}, []string{exchange.EnvRequestToken}},
		{"url missing", map[string]string{exchange.EnvRequestToken: "request-token-value-123"}, []string{exchange.EnvRequestURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := exchange.OIDCConfigFromEnv(func(k string) string { return tt.env[k] })
			var e *exchange.Error
			if !errors.As(err, &e) || e.Code != "MissingOIDCEnv" {
				t.Fatalf("err = %v, want *exchange.Error MissingOIDCEnv", err)
			}
			if !strings.Contains(err.Error(), "permissions: id-token: write") {
				t.Errorf("error does not say how to fix it: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %s: %v", w, err)
				}
			}
			assertNoSecret(t, errText(err), "request-token-value-123")
		})
	}
}

func TestOIDCConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{exchange.EnvRequestURL: "https://x.test/t?api-version=2.0", exchange.EnvRequestToken: "request-token-value-123"}
	cfg, err := exchange.OIDCConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audience != exchange.DefaultAudience || cfg.Issuer != exchange.DefaultIssuer || string(cfg.RequestToken.Bytes()) != "request-token-value-123" {
		t.Errorf("cfg = %+v", cfg)
	}
	if !exchange.HasOIDCEnv(func(k string) string { return env[k] }) {
		t.Error("HasOIDCEnv = false with both variables set")
	}
}

func TestOIDCToken(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	l.stack.OIDC.SetClaims(map[string]any{"environment": "ci", "sub": "repo:keylease/demo:environment:ci"})
	o := l.oidc()
	tok, id, err := o.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.tokenCount() != 1 || l.tokens[0] != string(tok.Bytes()) {
		t.Fatalf("OnToken saw %d tokens, want the returned one", l.tokenCount())
	}
	want := exchange.Identity{
		Issuer: l.stack.OIDC.Issuer(), Subject: "repo:keylease/demo:environment:ci", Audience: "sts.amazonaws.com",
		Repository: "keylease/demo", RepositoryOwner: "keylease", Ref: "refs/heads/main", SHA: "3f786850e387550fdab836ed7e6dc881de23001b",
		Workflow: "ci", JobWorkflowRef: "keylease/demo/.github/workflows/ci.yml@refs/heads/main", RunID: "6100000001", RunAttempt: "1",
		Actor: "octocat", EventName: "push", Environment: "ci", RunnerEnvironment: "github-hosted",
	}
	got := *id
	if got.IssuedAt.IsZero() || time.Until(got.Expiry) < 4*time.Minute {
		t.Errorf("times: iat %v exp %v", got.IssuedAt, got.Expiry)
	}
	got.IssuedAt, got.Expiry = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("identity\n got %+v\nwant %+v", got, want)
	}
}

// The audience is appended to the runner's URL (which has a query) and is
// the only part encoded.
func TestOIDCTokenURLAudienceEncoding(t *testing.T) {
	t.Parallel()
	var gotQuery string
	srv, err := oidcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := exchange.OIDCConfig{
		RequestURL:   srv.RequestURL() + "&x=a%2Fb",
		RequestToken: secret.FromString(srv.RequestToken()),
		Issuer:       srv.Issuer(),
		Audience:     "https://aud.example/x y&z",
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == oidcfake.TokenPath {
				gotQuery = r.URL.RawQuery
			}
			return http.DefaultTransport.RoundTrip(r)
		})},
	}
	_, id, err := exchange.NewOIDC(cfg).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := "api-version=2.0&x=a%2Fb&audience=https%3A%2F%2Faud.example%2Fx+y%26z"; gotQuery != want {
		t.Errorf("query = %q, want %q", gotQuery, want)
	}
	if id.Audience != "https://aud.example/x y&z" {
		t.Errorf("audience = %q", id.Audience)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOIDCFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rules      []fault.Rule
		mutate     func(*exchange.OIDCConfig)
		wantCode   string // "" : success
		wantTokens int    // calls to the token endpoint
		wantDisc   int    // calls to discovery
	}{
		{name: "503 twice then ok", rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 2, Status: 503}}, wantTokens: 3, wantDisc: 1},
		{name: "502 always", rules: []fault.Rule{{Op: oidcfake.OpToken, Status: 502}}, wantCode: "HTTP502", wantTokens: 5, wantDisc: 0},
		{name: "429 once", rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 1, Status: 429}}, wantTokens: 2, wantDisc: 1},
		{name: "throttled twice", rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 2, Kind: fault.Throttle}}, wantTokens: 3, wantDisc: 1},
		{name: "reset once", rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 1, Kind: fault.Reset}}, wantTokens: 2, wantDisc: 1},
		{name: "latency", rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 1, Kind: fault.Latency, Delay: 20 * time.Millisecond}}, wantTokens: 1, wantDisc: 1},
		{name: "expired token not retried", rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 1, Kind: fault.Expired}}, wantCode: "ExpiredToken", wantTokens: 1, wantDisc: 1},
		{name: "401 not retried", mutate: func(c *exchange.OIDCConfig) { c.RequestToken = secret.FromString("wrong-request-token-xyz") }, wantCode: "HTTP401", wantTokens: 1},
		{name: "discovery 500 once", rules: []fault.Rule{{Op: oidcfake.OpDiscovery, Times: 1, Status: 500}}, wantTokens: 1, wantDisc: 2},
		{name: "jwks 500 once", rules: []fault.Rule{{Op: oidcfake.OpJWKS, Times: 1, Status: 500}}, wantTokens: 1, wantDisc: 1},
		{
			name:  "timeout once",
			rules: []fault.Rule{{Op: oidcfake.OpToken, Times: 1, Kind: fault.Latency, Delay: time.Second}},
			mutate: func(c *exchange.OIDCConfig) {
				c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			},
			wantTokens: 2, wantDisc: 1,
		},
		{name: "issuer mismatch", mutate: func(c *exchange.OIDCConfig) { c.Issuer = "https://token.actions.githubusercontent.com" }, wantCode: "IssuerMismatch", wantTokens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLease(t)
			for _, r := range tt.rules {
				l.stack.OIDC.Faults.Add(r)
			}
			cfg := l.oidcConfig()
			if tt.mutate != nil {
				tt.mutate(&cfg)
				if cfg.Issuer != l.stack.OIDC.Issuer() {
					// discovery goes elsewhere: point it at the fake under another name
					cfg.HTTPClient = rewriteHost(l.stack.OIDC.Issuer())
				}
			}
			_, _, err := exchange.NewOIDC(cfg).Token(context.Background())
			assertNoSecret(t, errText(err), append(l.secrets(nil), "wrong-request-token-xyz")...)
			if got := l.stack.OIDC.Faults.Count(oidcfake.OpToken); got != tt.wantTokens {
				t.Errorf("token endpoint calls = %d, want %d", got, tt.wantTokens)
			}
			if tt.wantDisc != 0 {
				if got := l.stack.OIDC.Faults.Count(oidcfake.OpDiscovery); got != tt.wantDisc {
					t.Errorf("discovery calls = %d, want %d", got, tt.wantDisc)
				}
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				return
			}
			var e *exchange.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("err = %v, want code %s", err, tt.wantCode)
			}
			if e.Hint == "" {
				t.Errorf("error has no hint: %v", err)
			}
		})
	}
}

// rewriteHost sends every request to base, whatever its URL says.
func rewriteHost(base string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme = "http"
		r.URL.Host = strings.TrimPrefix(base, "http://")
		return http.DefaultTransport.RoundTrip(r)
	})}
}

func TestOIDCTokenCanceled(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	l.stack.OIDC.Faults.Add(fault.Rule{Op: oidcfake.OpToken, Kind: fault.Latency, Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := l.oidc().Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	assertNoSecret(t, errText(err), l.secrets(nil)...)
}
