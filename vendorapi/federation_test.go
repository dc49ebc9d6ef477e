package vendorapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// A JWT-shaped OIDC token; its value must never show in an error.
const oidcJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJyZXBvOmFjbWUvaW5mcmEiLCJhdWQiOiJvcGVuYWkifQ.c2lnbmF0dXJlLWJ5dGVzLWZvci10ZXN0cw"

func TestOpenAIFederation(t *testing.T) {
	t.Parallel()
	f, c, _ := startOpenAI(t, vendorapi.Options{})
	f.SetFederation("idp_1", "svc_acct_9", oidcJWT)
	var out outputs
	out.secret(oidcJWT)
	fed, err := vendorapi.NewOpenAIFederation(vendorapi.Options{Getenv: env(map[string]string{"OPENAI_AUTH_URL": f.URL() + "/oauth/token"})}, "idp_1", "svc_acct_9")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := time.Now()
	tok, err := fed.Exchange(ctx, secret.FromString(oidcJWT))
	if err != nil {
		t.Fatal(err)
	}
	out.secret(string(tok.Value.Bytes()))
	out.add(tok)
	if tok.Type != "Bearer" || tok.Expires.Before(before.Add(59*time.Minute)) {
		t.Errorf("token type %q expires %v, want Bearer in about an hour", tok.Type, tok.Expires)
	}
	if v, err := c.Check(ctx, tok.Value); v != vendorapi.Valid {
		t.Errorf("federated token at /v1/models: %v %v", v, err)
	}
	// A wrong assertion: the OAuth error code, nothing of the assertion.
	_, err = fed.Exchange(ctx, secret.FromString(oidcJWT+"x"))
	out.add(err)
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_grant" {
		t.Errorf("bad assertion: %v, want 400 invalid_grant", err)
	}
	// 503 is retried.
	f.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAITokenExchange, Status: 503, Times: 1})
	fed2, _ := vendorapi.NewOpenAIFederation(vendorapi.Options{Sleep: (&sleeps{}).sleep, Getenv: env(map[string]string{"OPENAI_AUTH_URL": f.URL() + "/oauth/token"})}, "idp_1", "svc_acct_9")
	tok2, err := fed2.Exchange(ctx, secret.FromString(oidcJWT))
	if err != nil {
		t.Fatalf("after one 503: %v", err)
	}
	out.secret(string(tok2.Value.Bytes()))
	out.check(t)
}

func TestAnthropicFederation(t *testing.T) {
	t.Parallel()
	f, _, _ := startAnthropic(t, vendorapi.Options{})
	f.SetFederation("fdrl_1", "org_1", oidcJWT)
	var out outputs
	out.secret(oidcJWT)
	fed, err := vendorapi.NewAnthropicFederation(vendorapi.Options{Getenv: env(map[string]string{"ANTHROPIC_BASE_URL": f.URL()})}, "fdrl_1", "org_1", "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := fed.Exchange(context.Background(), secret.FromString(oidcJWT))
	if err != nil {
		t.Fatal(err)
	}
	out.secret(string(tok.Value.Bytes()))
	out.add(tok)
	if !strings.HasPrefix(string(tok.Value.Bytes()), "sk-ant-oat01-") || tok.Expires.IsZero() {
		t.Errorf("token is not an sk-ant-oat01- token with an expiry")
	}
	wrong, _ := vendorapi.NewAnthropicFederation(vendorapi.Options{Getenv: env(map[string]string{"ANTHROPIC_BASE_URL": f.URL()})}, "fdrl_2", "org_1", "")
	_, err = wrong.Exchange(context.Background(), secret.FromString(oidcJWT))
	out.add(err)
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Code != "invalid_grant" {
		t.Errorf("wrong rule: %v, want invalid_grant", err)
	}
	out.check(t)
}
