package vendorfake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keylease/keylease/internal/oidcfake"
)

// Federation operation names for fault rules and counters.
//
//nolint:gosec // operation names, not credentials
const (
	OpOpenAITokenExchange    = "openai.token_exchange"
	OpAnthropicTokenExchange = "anthropic.token_exchange"
)

// AnthropicOAuthBeta is the anthropic-beta value an API call with a
// federated (OAuth) token must carry.
const AnthropicOAuthBeta = "oauth-2025-04-20"

// FederationRule is what a vendor's workload-identity rule accepts: a JWT
// signed by Issuer's keys (its JWKS, fetched through discovery as a vendor
// does), for Audience, optionally of one Subject.
type FederationRule struct {
	Issuer   string        // the OIDC issuer (the oidcfake server's Issuer())
	Audience string        // the aud the rule expects
	Subject  string        // the sub it expects; "" accepts any
	TokenTTL time.Duration // the issued token's lifetime (expires_in); 0: one hour
}

// Exchanged is the verified identity of one accepted or refused assertion:
// claims, never the token.
type Exchanged struct {
	Subject  string
	Audience []string
	Accepted bool
}

// federation is one configured rule and the request fields it requires.
type federation struct {
	rule FederationRule
	ids  map[string]string // body field -> required value

	mu       sync.Mutex
	provider *oidc.Provider
	seen     []Exchanged
}

func oauthErr(w http.ResponseWriter, status int, code, msg string) {
	if code == "" {
		code = "invalid_request"
		if status >= 500 {
			code = "server_error"
		}
	}
	writeJSON(w, status, map[string]any{"error": code, "error_description": msg})
}

// errRefused is a verification failure the handler answers as invalid_grant.
type errRefused string

func (e errRefused) Error() string { return string(e) }

// verify checks the assertion as a vendor does: signature against the
// issuer's JWKS, issuer, expiry, then the rule's audience and subject.
func (f *federation) verify(ctx context.Context, assertion string) error {
	f.mu.Lock()
	p := f.provider
	f.mu.Unlock()
	if p == nil {
		// Background context: the provider keeps it for later JWKS fetches.
		pctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second, Transport: userAgent{http.DefaultTransport}})
		np, err := oidc.NewProvider(pctx, f.rule.Issuer)
		if err != nil {
			return errors.New("the identity provider's discovery document could not be read")
		}
		f.mu.Lock()
		f.provider, p = np, np
		f.mu.Unlock()
	}
	idt, err := p.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, assertion)
	if err != nil {
		var te *oidc.TokenExpiredError
		if errors.As(err, &te) {
			return errRefused("the assertion has expired")
		}
		return errRefused("the assertion's signature, issuer or format is not valid")
	}
	ok := false
	for _, a := range idt.Audience {
		ok = ok || a == f.rule.Audience
	}
	accepted := ok && (f.rule.Subject == "" || idt.Subject == f.rule.Subject)
	f.mu.Lock()
	f.seen = append(f.seen, Exchanged{Subject: idt.Subject, Audience: idt.Audience, Accepted: accepted})
	f.mu.Unlock()
	switch {
	case !ok:
		return errRefused("the assertion's audience does not match the federation rule")
	case !accepted:
		return errRefused("the assertion's subject does not match the federation rule")
	}
	return nil
}

// userAgent marks the emulator's own discovery and JWKS fetches so the OIDC
// emulator counts them apart from the client's (oidcfake.VerifierUserAgentPrefix).
type userAgent struct{ next http.RoundTripper }

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", oidcfake.VerifierUserAgentPrefix+"-vendorfake/1")
	return u.next.RoundTrip(r)
}

// exchange checks an OAuth body against the federation; it returns false
// when answered.
func (b *base) exchange(w http.ResponseWriter, r *http.Request, grant, assertionField string) bool {
	b.mu.Lock()
	fed := b.fed
	b.mu.Unlock()
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "body is not JSON")
		return false
	}
	if body["grant_type"] != grant {
		oauthErr(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type not supported")
		return false
	}
	if fed == nil {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "no federation is configured")
		return false
	}
	for k, v := range fed.ids {
		if body[k] != v {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", k+" does not match a federation rule")
			return false
		}
	}
	assertion, _ := body[assertionField].(string)
	if assertion != "" {
		b.mu.Lock()
		b.keep(assertion)
		b.mu.Unlock()
	}
	if err := fed.verify(r.Context(), assertion); err != nil {
		var re errRefused
		if errors.As(err, &re) {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", err.Error())
		} else {
			oauthErr(w, http.StatusServiceUnavailable, "temporarily_unavailable", err.Error())
		}
		return false
	}
	return true
}

func (f *federation) ttl() time.Duration {
	if f.rule.TokenTTL > 0 {
		return f.rule.TokenTTL
	}
	return time.Hour
}

// Exchanged lists the identities of the assertions the token endpoint
// verified, in order (nil before SetFederation).
func (b *base) Exchanged() []Exchanged {
	b.mu.Lock()
	fed := b.fed
	b.mu.Unlock()
	if fed == nil {
		return nil
	}
	fed.mu.Lock()
	defer fed.mu.Unlock()
	return append([]Exchanged(nil), fed.seen...)
}

// SetFederation configures OpenAI workload identity federation: identity
// provider idp and service account sa, trusting r, at POST /oauth/token
// (OPENAI_AUTH_URL = URL()+"/oauth/token"). The access token it hands out
// passes GET /v1/models until it expires.
func (s *OpenAI) SetFederation(idp, sa string, r FederationRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	//nolint:gosec // OAuth field names and a token-type URN, not credentials
	s.fed = &federation{rule: r, ids: map[string]string{"identity_provider_id": idp, "service_account_id": sa,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}}
}

func (s *OpenAI) tokenExchange(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpOpenAITokenExchange, oauthErr) {
		return
	}
	if !s.exchange(w, r, "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token") {
		return
	}
	s.mu.Lock()
	ttl := s.fed.ttl()
	k := &oaKey{id: s.nextID("key_"), name: "federated", project: "federated", created: time.Now().Unix(),
		value:   s.keep("sk-svcacct-" + randChars(40, alnum) + "T3BlbkFJ" + randChars(40, alnum)),
		expires: time.Now().Add(ttl)}
	s.keys[k.id] = k
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": k.value, "token_type": "Bearer", "expires_in": int(ttl / time.Second), //nolint:gosec // OAuth field names; the token is generated
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
}

// SetFederation configures Anthropic workload identity federation: rule
// (fdrl_…) of organization org, service account sa ("" : the rule's own),
// trusting r, at POST /v1/oauth/token. The sk-ant-oat01- token it hands out
// passes GET /v1/models as a bearer token with anthropic-beta
// AnthropicOAuthBeta until it expires.
func (s *Anthropic) SetFederation(rule, org, sa string, r FederationRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[string]string{"federation_rule_id": rule, "organization_id": org}
	if sa != "" {
		ids["service_account_id"] = sa
	}
	s.fed = &federation{rule: r, ids: ids}
}

func (s *Anthropic) tokenExchange(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpAnthropicTokenExchange, oauthErr) {
		return
	}
	if !strings.Contains(r.Header.Get("anthropic-beta"), "oidc-federation-") {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "anthropic-beta: the OIDC federation beta is required")
		return
	}
	if !s.exchange(w, r, "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion") {
		return
	}
	tok := "sk-ant-oat01-" + randChars(93, alnum+"-_") + "AA"
	s.mu.Lock()
	s.keep(tok)
	ttl := s.fed.ttl()
	s.oauth[tok] = time.Now().Add(ttl)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second)})
}
