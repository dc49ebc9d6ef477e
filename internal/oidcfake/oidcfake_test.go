package oidcfake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keylease/keylease/internal/oidcfake"
)

func start(t *testing.T) *oidcfake.Server {
	t.Helper()
	s, err := oidcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func getToken(t *testing.T, s *oidcfake.Server, bearer, audQuery string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.RequestURL()+audQuery, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Value string `json:"value"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Value
}

func TestTokenVerifiesWithGoOIDC(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetClaims(map[string]any{"environment": "prod", "actor": nil})
	status, tok := getToken(t, s, s.RequestToken(), "&audience=sts.amazonaws.com")
	if status != http.StatusOK || tok == "" {
		t.Fatalf("status %d", status)
	}
	p, err := oidc.NewProvider(context.Background(), s.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"}).Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c["environment"] != "prod" || c["repository"] != "keylease/demo" || c["run_id"] != "6100000001" {
		t.Errorf("claims = %v", c)
	}
	if _, ok := c["actor"]; ok {
		t.Error("a claim set to nil was not deleted")
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name, bearer, query string
		status              int
		aud                 string
	}{
		{"wrong bearer", "nope", "&audience=x", http.StatusUnauthorized, ""},
		{"default audience", s.RequestToken(), "", http.StatusOK, "https://github.com/keylease"},
		{"given audience", s.RequestToken(), "&audience=sts.amazonaws.com", http.StatusOK, "sts.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, tok := getToken(t, s, tt.bearer, tt.query)
			if status != tt.status {
				t.Fatalf("status = %d, want %d", status, tt.status)
			}
			if tt.aud == "" {
				return
			}
			if !strings.Contains(payload(t, tok), `"aud":"`+tt.aud+`"`) {
				t.Errorf("aud not %q in %s", tt.aud, payload(t, tok))
			}
		})
	}
}

func payload(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := jsonB64(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDiscoveryNamesItself(t *testing.T) {
	t.Parallel()
	s := start(t)
	resp, err := http.Get(s.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != s.Issuer() || d["jwks_uri"] != s.Issuer()+"/.well-known/jwks" {
		t.Errorf("discovery = %v", d)
	}
	if s.Faults.Count(oidcfake.OpDiscovery) != 1 {
		t.Errorf("discovery count = %d", s.Faults.Count(oidcfake.OpDiscovery))
	}
}
