package vendorfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Federation operation names for fault rules and counters.
//
//nolint:gosec // operation names, not credentials
const (
	OpOpenAITokenExchange    = "openai.token_exchange"
	OpAnthropicTokenExchange = "anthropic.token_exchange"
)

// federation is one accepted (subject, ids) combination.
type federation struct {
	subject string
	ids     map[string]string // body field -> required value
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

// exchange checks an OAuth body against fed; it returns false when answered.
func exchange(w http.ResponseWriter, r *http.Request, fed *federation, grant, assertionField string) bool {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "body is not JSON")
		return false
	}
	if body["grant_type"] != grant {
		oauthErr(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type not supported")
		return false
	}
	if fed == nil || body[assertionField] != fed.subject {
		oauthErr(w, http.StatusBadRequest, "invalid_grant", "the assertion is not valid for this federation")
		return false
	}
	for k, v := range fed.ids {
		if body[k] != v {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", k+" does not match")
			return false
		}
	}
	return true
}

// SetFederation accepts subject (an OIDC JWT) for identity provider idp and
// service account sa at POST /oauth/token (OPENAI_AUTH_URL = URL()+"/oauth/token").
// The access token it hands out passes GET /v1/models.
func (s *OpenAI) SetFederation(idp, sa, subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	//nolint:gosec // OAuth field names and a token-type URN, not credentials
	s.fed = &federation{subject: subject, ids: map[string]string{"identity_provider_id": idp, "service_account_id": sa,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}}
}

func (s *OpenAI) tokenExchange(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpOpenAITokenExchange, oauthErr) {
		return
	}
	s.mu.Lock()
	fed := s.fed
	s.mu.Unlock()
	if !exchange(w, r, fed, "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token") {
		return
	}
	s.mu.Lock()
	k := &oaKey{id: s.nextID("key_"), name: "federated", project: "federated", created: time.Now().Unix(),
		value: "sk-svcacct-" + randChars(40, alnum) + "T3BlbkFJ" + randChars(40, alnum)}
	s.keys[k.id] = k
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": k.value, "token_type": "Bearer", "expires_in": 3600, //nolint:gosec // OAuth field names; the token is generated
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
}

// SetFederation accepts subject for federation rule rule of organization
// org at POST /v1/oauth/token.
func (s *Anthropic) SetFederation(rule, org, subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fed = &federation{subject: subject, ids: map[string]string{"federation_rule_id": rule, "organization_id": org}}
}

func (s *Anthropic) tokenExchange(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpAnthropicTokenExchange, oauthErr) {
		return
	}
	if !strings.Contains(r.Header.Get("anthropic-beta"), "oidc-federation-") {
		oauthErr(w, http.StatusBadRequest, "invalid_request", "anthropic-beta: the OIDC federation beta is required")
		return
	}
	s.mu.Lock()
	fed := s.fed
	s.mu.Unlock()
	if !exchange(w, r, fed, "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "sk-ant-oat01-" + randChars(93, alnum+"-_") + "AA", "token_type": "Bearer", "expires_in": 3600})
}
