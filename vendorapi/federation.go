package vendorapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/keylease/keylease/secret"
)

// Token is a short-lived vendor credential from a federation exchange.
type Token struct {
	Value   secret.Value
	Type    string    // token_type, e.g. "Bearer"
	Expires time.Time // zero when the vendor sent no expires_in; counted from the request, never later than the vendor's

}

// Federator trades a CI job's OIDC token for a short-lived vendor token.
type Federator interface {
	Exchange(ctx context.Context, oidc secret.Value) (Token, error)
}

// jsonSecret marshals a secret.Value as its JSON string (secret.Value itself
// marshals as "[redacted]"): the one place a value goes into a body, because
// OAuth exchanges carry the assertion there.
type jsonSecret struct{ v secret.Value }

func (j jsonSecret) MarshalJSON() ([]byte, error) {
	return json.Marshal(string(j.v.Bytes()))
}

type wireToken struct {
	AccessToken wireSecret `json:"access_token"`
	TokenType   string     `json:"token_type"`
	ExpiresIn   int64      `json:"expires_in"`
}

func (w wireToken) token(vendor string, now time.Time) (Token, error) {
	if w.AccessToken.v.IsZero() {
		return Token{}, fmt.Errorf("%s token exchange: the answer has no access_token", vendor)
	}
	t := Token{Value: w.AccessToken.v, Type: safeToken(w.TokenType)}
	if w.ExpiresIn > 0 {
		t.Expires = now.Add(time.Duration(w.ExpiresIn) * time.Second)
	}
	return t, nil
}

// decodeOAuthError reads RFC 6749's {"error":"invalid_grant",…} and, failing
// that, the vendor's own error shape.
func decodeOAuthError(vendorShape func([]byte) (string, string)) func([]byte) (string, string) {
	return func(b []byte) (string, string) {
		var w struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(b, &w) == nil {
			if s := jsonString(w.Error); s != "" {
				return "", safeToken(s)
			}
		}
		return vendorShape(b)
	}
}

// OpenAIFederation exchanges an OIDC token at OpenAI's token endpoint
// (OPENAI_AUTH_URL, default https://auth.openai.com/oauth/token) for a
// service account's access token.
type OpenAIFederation struct {
	client
	url                string
	identityProviderID string
	serviceAccountID   string
}

// NewOpenAIFederation configures the exchange for one identity provider and
// service account as registered at OpenAI.
func NewOpenAIFederation(o Options, identityProviderID, serviceAccountID string) (*OpenAIFederation, error) {
	u, err := baseURL(o.Getenv, "OPENAI_AUTH_URL", "https://auth.openai.com/oauth/token")
	if err != nil {
		return nil, err
	}
	return &OpenAIFederation{client: newClient("openai", o, decodeOAuthError(decodeOpenAIError)), url: u,
		identityProviderID: identityProviderID, serviceAccountID: serviceAccountID}, nil
}

// Exchange posts the RFC 8693 token exchange.
func (f *OpenAIFederation) Exchange(ctx context.Context, oidc secret.Value) (Token, error) {
	var w wireToken
	sent := time.Now()                                                                                                       // expires_in counts from the vendor's answer, which is no earlier
	err := f.do(ctx, call{op: "token exchange", method: http.MethodPost, url: f.url, idempotent: true, body: map[string]any{ //nolint:gosec // OAuth field names; the value is the caller's
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token_type":   "urn:ietf:params:oauth:token-type:jwt",
		"subject_token":        jsonSecret{oidc},
		"identity_provider_id": f.identityProviderID,
		"service_account_id":   f.serviceAccountID,
	}}, &w)
	if err != nil {
		return Token{}, err
	}
	return w.token("openai", sent)
}

// AnthropicFederation exchanges an OIDC token at ANTHROPIC_BASE_URL's
// /v1/oauth/token (RFC 7523 jwt-bearer) for an sk-ant-oat01-… token.
type AnthropicFederation struct {
	client
	url                                      string
	ruleID, organizationID, serviceAccountID string
}

// AnthropicFederationBeta is the anthropic-beta header of the exchange.
const AnthropicFederationBeta = "oauth-2025-04-20,oidc-federation-2026-04-01"

// NewAnthropicFederation configures the exchange for a federation rule
// (fdrl_…) of an organization; serviceAccountID (svac_…) may be "".
func NewAnthropicFederation(o Options, ruleID, organizationID, serviceAccountID string) (*AnthropicFederation, error) {
	base, err := baseURL(o.Getenv, "ANTHROPIC_BASE_URL", "https://api.anthropic.com")
	if err != nil {
		return nil, err
	}
	return &AnthropicFederation{client: newClient("anthropic", o, decodeOAuthError(decodeAnthropicError)), url: base + "/v1/oauth/token",
		ruleID: ruleID, organizationID: organizationID, serviceAccountID: serviceAccountID}, nil
}

// Exchange posts the jwt-bearer grant.
func (f *AnthropicFederation) Exchange(ctx context.Context, oidc secret.Value) (Token, error) {
	body := map[string]any{
		"grant_type":         "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"assertion":          jsonSecret{oidc},
		"federation_rule_id": f.ruleID,
		"organization_id":    f.organizationID,
	}
	if f.serviceAccountID != "" {
		body["service_account_id"] = f.serviceAccountID
	}
	var w wireToken
	sent := time.Now() // expires_in counts from the vendor's answer, which is no earlier
	err := f.do(ctx, call{op: "token exchange", method: http.MethodPost, url: f.url, idempotent: true, body: body,
		auth: func(h http.Header) {
			h.Set("anthropic-version", AnthropicVersion)
			h.Set("anthropic-beta", AnthropicFederationBeta)
		}}, &w)
	if err != nil {
		return Token{}, err
	}
	return w.token("anthropic", sent)
}

var (
	_ Federator = (*OpenAIFederation)(nil)
	_ Federator = (*AnthropicFederation)(nil)
)
