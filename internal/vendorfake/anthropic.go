package vendorfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Anthropic operation names for fault rules and counters.
const (
	OpAnthropicModels    = "anthropic.models"
	OpAnthropicListKeys  = "anthropic.list_api_keys"
	OpAnthropicGetKey    = "anthropic.get_api_key"
	OpAnthropicUpdateKey = "anthropic.update_api_key"
)

type anKey struct {
	id, name, value, status string
	created                 time.Time
}

// Anthropic emulates api.anthropic.com: GET /v1/models and the admin API's
// /v1/organizations/api_keys (list, get, update status).
type Anthropic struct {
	base
	admins map[string]bool
	keys   map[string]*anKey
	oauth  map[string]time.Time // federated sk-ant-oat01- tokens -> expiry
}

// StartAnthropic serves a new Anthropic emulator on 127.0.0.1.
func StartAnthropic() (*Anthropic, error) {
	s := &Anthropic{admins: map[string]bool{}, keys: map[string]*anKey{}, oauth: map[string]time.Time{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/models", s.models)
	m.HandleFunc("POST /v1/oauth/token", s.tokenExchange)
	m.HandleFunc("GET /v1/organizations/api_keys", s.list)
	m.HandleFunc("GET /v1/organizations/api_keys/{id}", s.get)
	m.HandleFunc("POST /v1/organizations/api_keys/{id}", s.update)
	if err := s.start(m); err != nil {
		return nil, err
	}
	return s, nil
}

// AddAdminKey makes a new admin key (sk-ant-admin01-…) and returns it.
func (s *Anthropic) AddAdminKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := "sk-ant-admin01-" + randChars(93, alnum+"-_") + "AA"
	s.admins[v] = true
	return v
}

// AddKey makes an active API key (sk-ant-api03-…AA) and returns its id and value.
func (s *Anthropic) AddKey(name string) (id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &anKey{id: s.nextID("apikey_01"), name: name, status: "active", created: time.Now().UTC().Truncate(time.Second),
		value: "sk-ant-api03-" + randChars(93, alnum+"-_") + "AA"}
	s.keys[k.id] = k
	return k.id, k.value
}

// Status is key id's status ("" when unknown).
func (s *Anthropic) Status(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[id]; k != nil {
		return k.status
	}
	return ""
}

func (s *Anthropic) writeErr(w http.ResponseWriter, status int, code, msg string) {
	typ := code
	if typ == "" {
		switch {
		case status == http.StatusTooManyRequests:
			typ = "rate_limit_error"
		case status == 529:
			typ = "overloaded_error"
		case status >= 500:
			typ = "api_error"
		case status == http.StatusUnauthorized:
			typ = "authentication_error"
		case status == http.StatusForbidden:
			typ = "permission_error"
		case status == http.StatusNotFound:
			typ = "not_found_error"
		default:
			typ = "invalid_request_error"
		}
	}
	s.mu.Lock()
	rid := s.nextID("req_011CS")
	s.mu.Unlock()
	w.Header().Set("request-id", rid)
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}, "request_id": rid})
}

// version checks anthropic-version; false means answered.
func (s *Anthropic) version(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("anthropic-version") == "" {
		s.writeErr(w, http.StatusBadRequest, "", "anthropic-version: header is required")
		return false
	}
	return true
}

func (s *Anthropic) models(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpAnthropicModels, s.writeErr) || !s.version(w, r) {
		return
	}
	tok := r.Header.Get("x-api-key")
	s.mu.Lock()
	ok := false
	for _, k := range s.keys {
		ok = ok || (k.value == tok && k.status == "active")
	}
	if bt := bearerToken(r); tok == "" && bt != "" {
		// A federated token: a bearer token that needs the OAuth beta.
		exp, known := s.oauth[bt]
		ok = known && time.Now().Before(exp) && strings.Contains(r.Header.Get("anthropic-beta"), AnthropicOAuthBeta)
	}
	s.mu.Unlock()
	if !ok {
		s.writeErr(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{map[string]any{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}},
		"has_more": false, "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"})
}

func (s *Anthropic) admin(w http.ResponseWriter, r *http.Request) bool {
	if !s.version(w, r) {
		return false
	}
	s.mu.Lock()
	ok := s.admins[r.Header.Get("x-api-key")]
	s.mu.Unlock()
	if !ok {
		s.writeErr(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
	}
	return ok
}

func (k *anKey) wire() map[string]any {
	return map[string]any{"type": "api_key", "id": k.id, "name": k.name, "status": k.status, "workspace_id": nil,
		"created_at": k.created.Format(time.RFC3339), "created_by": map[string]any{"id": "user_01", "type": "user"},
		"partial_key_hint": k.value[:16] + "..." + k.value[len(k.value)-4:]}
}

func (s *Anthropic) list(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpAnthropicListKeys, s.writeErr) || !s.admin(w, r) {
		return
	}
	limit, ok := limitParam(r, "limit", 20, 1000)
	if !ok {
		s.writeErr(w, http.StatusBadRequest, "", "limit: must be between 1 and 1000")
		return
	}
	status := r.URL.Query().Get("status")
	s.mu.Lock()
	var ids []string
	for id, k := range s.keys {
		if status == "" || k.status == status {
			ids = append(ids, id)
		}
	}
	ids, more := page(ids, r.URL.Query().Get("after_id"), limit)
	data := make([]any, 0, len(ids))
	for _, id := range ids {
		data = append(data, s.keys[id].wire())
	}
	s.mu.Unlock()
	env := listEnvelope(data, ids, more)
	delete(env, "object")
	writeJSON(w, http.StatusOK, env)
}

func (s *Anthropic) get(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpAnthropicGetKey, s.writeErr) || !s.admin(w, r) {
		return
	}
	s.answerKey(w, r.PathValue("id"), func(*anKey) {})
}

// answerKey applies change to key id and answers with the key, or 404s.
func (s *Anthropic) answerKey(w http.ResponseWriter, id string, change func(*anKey)) {
	s.mu.Lock()
	k := s.keys[id]
	var out map[string]any
	if k != nil {
		change(k)
		out = k.wire()
	}
	s.mu.Unlock()
	if k == nil {
		s.writeErr(w, http.StatusNotFound, "", "API key not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Anthropic) update(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpAnthropicUpdateKey, s.writeErr) || !s.admin(w, r) {
		return
	}
	var body struct {
		Name   *string `json:"name"`
		Status *string `json:"status"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.writeErr(w, http.StatusBadRequest, "", "invalid JSON body")
		return
	}
	if body.Status != nil && *body.Status != "active" && *body.Status != "inactive" && *body.Status != "archived" {
		s.writeErr(w, http.StatusBadRequest, "", "status: must be one of active, inactive, archived")
		return
	}
	s.answerKey(w, r.PathValue("id"), func(k *anKey) {
		if body.Status != nil {
			k.status = *body.Status
		}
		if body.Name != nil {
			k.name = *body.Name
		}
	})
}
