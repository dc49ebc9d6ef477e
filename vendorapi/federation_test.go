package vendorapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// issuer starts the OIDC emulator whose signed JWTs the vendors' federation
// rules trust.
func issuer(t *testing.T) *oidcfake.Server {
	t.Helper()
	o, err := oidcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func mint(t *testing.T, o *oidcfake.Server, aud string, expired bool) string {
	t.Helper()
	tok, err := o.Mint(aud, expired)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestOpenAIFederation(t *testing.T) {
	t.Parallel()
	idp := issuer(t)
	f, c, _ := startOpenAI(t, vendorapi.Options{})
	const aud = "https://openai.example/federation"
	f.SetFederation("idp_1", "svc_acct_9", vendorfake.FederationRule{Issuer: idp.Issuer(), Audience: aud, TokenTTL: 2 * time.Second})
	jwt := mint(t, idp, aud, false)
	var out outputs
	out.secret(jwt)
	getenv := env(map[string]string{"OPENAI_AUTH_URL": f.URL() + "/oauth/token"})
	fed, err := vendorapi.NewOpenAIFederation(vendorapi.Options{Getenv: getenv}, "idp_1", "svc_acct_9")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := time.Now()
	tok, err := fed.Exchange(ctx, secret.FromString(jwt))
	if err != nil {
		t.Fatal(err)
	}
	out.secret(string(tok.Value.Bytes()))
	out.add(tok)
	if tok.Type != "Bearer" || tok.Expires.Before(before.Add(time.Second)) || tok.Expires.After(time.Now().Add(3*time.Second)) {
		t.Errorf("token type %q expires %v, want Bearer in about 2 s", tok.Type, tok.Expires)
	}
	if v, err := c.Check(ctx, tok.Value); v != vendorapi.Valid {
		t.Errorf("federated token at /v1/models: %v %v", v, err)
	}
	if ex := f.Exchanged(); len(ex) != 1 || ex[0].Subject != "repo:keylease/demo:ref:refs/heads/main" || ex[0].Audience[0] != aud || !ex[0].Accepted {
		t.Errorf("verified identities %+v", ex)
	}
	// Refusals: the OAuth error code, nothing of the assertion.
	for name, bad := range map[string]string{
		"tampered":       jwt[:len(jwt)-4] + "AAAA",
		"wrong audience": mint(t, idp, "https://other.example", false),
		"expired":        mint(t, idp, aud, true),
	} {
		out.secret(bad)
		_, err = fed.Exchange(ctx, secret.FromString(bad))
		out.add(err)
		var e *vendorapi.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_grant" {
			t.Errorf("%s: %v, want 400 invalid_grant", name, err)
		}
	}
	wrongSA, _ := vendorapi.NewOpenAIFederation(vendorapi.Options{Getenv: getenv}, "idp_1", "svc_acct_other")
	_, err = wrongSA.Exchange(ctx, secret.FromString(jwt))
	out.add(err)
	if e := (*vendorapi.Error)(nil); !errors.As(err, &e) || e.Code != "invalid_grant" {
		t.Errorf("wrong service account: %v, want invalid_grant", err)
	}
	// 503 is retried.
	f.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAITokenExchange, Status: 503, Times: 1})
	fed2, _ := vendorapi.NewOpenAIFederation(vendorapi.Options{Sleep: (&sleeps{}).sleep, Getenv: getenv}, "idp_1", "svc_acct_9")
	tok2, err := fed2.Exchange(ctx, secret.FromString(jwt))
	if err != nil {
		t.Fatalf("after one 503: %v", err)
	}
	out.secret(string(tok2.Value.Bytes()))
	// The token is accepted until it expires, then no longer (Expires counts
	// from the request, so the vendor's own end is a little later).
	time.Sleep(time.Until(tok.Expires) + time.Second)
	if v, _ := c.Check(ctx, tok.Value); v != vendorapi.Invalid {
		t.Errorf("expired federated token: %v, want invalid", v)
	}
	out.check(t)
}

func TestAnthropicFederation(t *testing.T) {
	t.Parallel()
	idp := issuer(t)
	f, c, _ := startAnthropic(t, vendorapi.Options{})
	const aud = "https://api.anthropic.com"
	f.SetFederation("fdrl_1", "org_1", "svac_1", vendorfake.FederationRule{Issuer: idp.Issuer(), Audience: aud, Subject: "repo:keylease/demo:ref:refs/heads/main", TokenTTL: 2 * time.Second})
	jwt := mint(t, idp, aud, false)
	var out outputs
	out.secret(jwt)
	getenv := env(map[string]string{"ANTHROPIC_BASE_URL": f.URL()})
	fed, err := vendorapi.NewAnthropicFederation(vendorapi.Options{Getenv: getenv}, "fdrl_1", "org_1", "svac_1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := fed.Exchange(ctx, secret.FromString(jwt))
	if err != nil {
		t.Fatal(err)
	}
	out.secret(string(tok.Value.Bytes()))
	out.add(tok)
	if !strings.HasPrefix(string(tok.Value.Bytes()), "sk-ant-oat01-") || tok.Expires.IsZero() {
		t.Errorf("token is not an sk-ant-oat01- token with an expiry")
	}
	if v, err := c.CheckOAuth(ctx, tok.Value); v != vendorapi.Valid {
		t.Errorf("federated token as bearer with the OAuth beta: %v %v", v, err)
	}
	if v, _ := c.Check(ctx, tok.Value); v != vendorapi.Invalid {
		t.Errorf("federated token as x-api-key: %v, want invalid", v)
	}
	wrong, _ := vendorapi.NewAnthropicFederation(vendorapi.Options{Getenv: getenv}, "fdrl_2", "org_1", "svac_1")
	_, err = wrong.Exchange(ctx, secret.FromString(jwt))
	out.add(err)
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Code != "invalid_grant" {
		t.Errorf("wrong rule: %v, want invalid_grant", err)
	}
	time.Sleep(time.Until(tok.Expires) + 100*time.Millisecond)
	if v, _ := c.CheckOAuth(ctx, tok.Value); v != vendorapi.Invalid {
		t.Errorf("expired federated token: %v, want invalid", v)
	}
	idp.SetClaims(map[string]any{"sub": "repo:evil/fork:pull_request"})
	other := mint(t, idp, aud, false)
	out.secret(other)
	_, err = fed.Exchange(ctx, secret.FromString(other))
	out.add(err)
	if !errors.As(err, &e) || e.Code != "invalid_grant" {
		t.Errorf("wrong subject: %v, want invalid_grant", err)
	}
	out.check(t)
}

// TestXAIWaitLive: WaitLive returns only once the propagation endpoint says
// live, backing off between polls, and gives up when its context ends.
func TestXAIWaitLive(t *testing.T) {
	t.Parallel()
	sl := &sleeps{}
	f, c, _ := startXAI(t, vendorapi.Options{Sleep: sl.sleep})
	f.PropagationPolls = 3
	mgmt := f.AddManagementKey()
	team := c.Team(secret.FromString(mgmt), "team-1", nil)
	ctx := context.Background()
	m, err := team.Mint(ctx, "lease")
	if err != nil {
		t.Fatal(err)
	}
	n, err := team.WaitLive(ctx, m.ID)
	if err != nil || n != 3 {
		t.Fatalf("WaitLive = %d, %v; want live at the third poll", n, err)
	}
	if got := sl.got(); len(got) != 2 || got[1] != 2*got[0] {
		t.Errorf("waits %v, want two, doubling", got)
	}
	f.PropagationPolls = 1 << 20
	m2, err := team.Mint(ctx, "lease2")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	c2, _ := vendorapi.NewXAI(vendorapi.Options{Getenv: env(map[string]string{"XAI_BASE_URL": f.BaseURL(), "XAI_MANAGEMENT_URL": f.URL()})})
	if _, err := c2.Team(secret.FromString(mgmt), "team-1", nil).WaitLive(cctx, m2.ID); err == nil {
		t.Error("WaitLive returned nil for a key that never went live")
	} else {
		var out outputs
		out.secret(mgmt)
		out.secret(string(m.Key.Bytes()))
		out.secret(string(m2.Key.Bytes()))
		out.add(err)
		out.check(t)
	}
}

// slowAnswers delivers each response late, as a slow network does after the
// vendor has issued the token.
type slowAnswers struct{ delay time.Duration }

func (s slowAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	time.Sleep(s.delay)
	return resp, err
}

// TestFederationExpiryFromRequest: expires_in counts from when the vendor
// answered, so a token's expiry is taken from the request, not from when
// the slow answer arrived (which would put the lease's deadline after the
// token's real end).
func TestFederationExpiryFromRequest(t *testing.T) {
	t.Parallel()
	idp := issuer(t)
	f, _, _ := startOpenAI(t, vendorapi.Options{})
	const aud = "https://openai.example/federation"
	f.SetFederation("idp_1", "svc_acct_9", vendorfake.FederationRule{Issuer: idp.Issuer(), Audience: aud, TokenTTL: 2 * time.Second})
	fed, err := vendorapi.NewOpenAIFederation(vendorapi.Options{Getenv: env(map[string]string{"OPENAI_AUTH_URL": f.URL() + "/oauth/token"}),
		HTTPClient: &http.Client{Transport: slowAnswers{delay: 1500 * time.Millisecond}}}, "idp_1", "svc_acct_9")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	tok, err := fed.Exchange(context.Background(), secret.FromString(mint(t, idp, aud, false)))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Value.Wipe()
	if tok.Expires.After(before.Add(2*time.Second+300*time.Millisecond)) || tok.Expires.Before(before.Add(time.Second)) {
		t.Errorf("expires %v after the request, want at most the 2 s expires_in", tok.Expires.Sub(before))
	}
}

// TestBaseURLPlainHTTPElsewhere: admin keys, minted keys and OIDC tokens
// never go over plain http to another host; loopback (the emulators, a
// local proxy) stays allowed.
func TestBaseURLPlainHTTPElsewhere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		new  func(func(string) string) error
	}{
		{"OPENAI_BASE_URL", func(g func(string) string) error {
			_, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: g})
			return err
		}},
		{"OPENAI_AUTH_URL", func(g func(string) string) error {
			_, err := vendorapi.NewOpenAIFederation(vendorapi.Options{Getenv: g}, "idp", "sa")
			return err
		}},
		{"ANTHROPIC_BASE_URL", func(g func(string) string) error {
			_, err := vendorapi.NewAnthropicFederation(vendorapi.Options{Getenv: g}, "r", "o", "s")
			return err
		}},
		{"XAI_MANAGEMENT_URL", func(g func(string) string) error {
			_, err := vendorapi.NewXAI(vendorapi.Options{Getenv: g})
			return err
		}},
	} {
		for u, ok := range map[string]bool{
			"http://api.example.com/v1": false, "http://10.0.0.5:8080": false, "http://127.0.0.1:9/v1": true,
			"http://[::1]:9": true, "http://localhost:9": true, "https://api.example.com/v1": true,
		} {
			err := tc.new(env(map[string]string{tc.name: u}))
			if (err == nil) != ok {
				t.Errorf("%s=%s: %v, want accepted %v", tc.name, u, err, ok)
			}
			if err != nil && !strings.Contains(err.Error(), tc.name+" is plain http to another host") {
				t.Errorf("%s=%s: %v does not say why", tc.name, u, err)
			}
		}
	}
}
