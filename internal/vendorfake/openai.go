package vendorfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// OpenAI operation names for fault rules and counters.
const (
	OpOpenAIModels               = "openai.models"
	OpOpenAICreateServiceAccount = "openai.create_service_account"
	OpOpenAIDeleteServiceAccount = "openai.delete_service_account"
	OpOpenAIListServiceAccounts  = "openai.list_service_accounts"
	OpOpenAIListAPIKeys          = "openai.list_api_keys" //nolint:gosec // an operation name, not a credential
	OpOpenAIDeleteAPIKey         = "openai.delete_api_key"
)

type oaKey struct {
	id, name, value, project string
	saID                     string // "" for a user key
	restricted               bool   // lacks model.read
	created                  int64
	expires                  time.Time // a federated token's end; zero: none
}

type oaServiceAccount struct {
	id, name, project string
	created           int64
	keyID             string
}

// OpenAI emulates api.openai.com/v1 (mounted at /v1): GET /v1/models and the
// project admin API (service accounts, project API keys).
type OpenAI struct {
	base
	admins map[string]bool
	keys   map[string]*oaKey // by id
	sas    map[string]*oaServiceAccount
}

// StartOpenAI serves a new OpenAI emulator on 127.0.0.1.
func StartOpenAI() (*OpenAI, error) {
	s := &OpenAI{admins: map[string]bool{}, keys: map[string]*oaKey{}, sas: map[string]*oaServiceAccount{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/models", s.models)
	m.HandleFunc("POST /oauth/token", s.tokenExchange)
	m.HandleFunc("GET /v1/organization/projects/{p}/service_accounts", s.listSA)
	m.HandleFunc("POST /v1/organization/projects/{p}/service_accounts", s.createSA)
	m.HandleFunc("DELETE /v1/organization/projects/{p}/service_accounts/{sa}", s.deleteSA)
	m.HandleFunc("GET /v1/organization/projects/{p}/api_keys", s.listKeys)
	m.HandleFunc("DELETE /v1/organization/projects/{p}/api_keys/{id}", s.deleteKey)
	if err := s.start(m); err != nil {
		return nil, err
	}
	return s, nil
}

// BaseURL is what OPENAI_BASE_URL should be set to.
func (s *OpenAI) BaseURL() string { return s.URL() + "/v1" }

// AddAdminKey makes a new admin key (sk-admin-…) and returns it.
func (s *OpenAI) AddAdminKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := "sk-admin-" + randChars(20, alnum) + "T3BlbkFJ" + randChars(20, alnum)
	s.admins[v] = true
	return v
}

// AddKey makes a user-owned project key (sk-proj-…) and returns its id and
// value. A restricted key lacks the model.read scope.
func (s *OpenAI) AddKey(project, name string, restricted bool) (id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &oaKey{id: s.nextID("key_"), name: name, project: project, restricted: restricted, created: time.Now().Unix(),
		value: "sk-proj-" + randChars(40, alnum) + "T3BlbkFJ" + randChars(40, alnum)}
	s.keys[k.id] = k
	return k.id, k.value
}

// ServiceAccounts is how many service accounts project has.
func (s *OpenAI) ServiceAccounts(project string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sa := range s.sas {
		if sa.project == project {
			n++
		}
	}
	return n
}

func (s *OpenAI) writeErr(w http.ResponseWriter, status int, code, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusTooManyRequests:
		typ = "requests"
	case status >= 500:
		typ = "server_error"
	}
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

// badKey answers as OpenAI does, echoing a redacted form of the key.
func (s *OpenAI) badKey(w http.ResponseWriter, tok string) {
	hint := "***"
	if len(tok) > 8 {
		hint = tok[:3] + "*****" + tok[len(tok)-4:]
	}
	s.writeErr(w, http.StatusUnauthorized, "invalid_api_key",
		fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", hint))
}

func (s *OpenAI) keyByValue(v string) *oaKey {
	for _, k := range s.keys {
		if k.value == v {
			return k
		}
	}
	return nil
}

func (s *OpenAI) models(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpOpenAIModels, s.writeErr) {
		return
	}
	tok := bearerToken(r)
	s.mu.Lock()
	k, admin := s.keyByValue(tok), s.admins[tok]
	if k != nil && !k.expires.IsZero() && time.Now().After(k.expires) {
		k = nil // an expired federated token is an unknown key, as at OpenAI
	}
	s.mu.Unlock()
	switch {
	case admin || (k != nil && k.restricted):
		s.writeErr(w, http.StatusUnauthorized, "", "You have insufficient permissions for this operation. Missing scopes: api.model.read. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted API key, that it has the necessary scopes.")
	case k == nil:
		s.badKey(w, tok)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
			map[string]any{"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"}}})
	}
}

// admin checks the admin key; false means answered.
func (s *OpenAI) admin(w http.ResponseWriter, r *http.Request) bool {
	tok := bearerToken(r)
	s.mu.Lock()
	ok := s.admins[tok]
	s.mu.Unlock()
	if !ok {
		s.badKey(w, tok)
	}
	return ok
}

func (s *OpenAI) listSA(w http.ResponseWriter, r *http.Request) {
	listProject(s, w, r, OpOpenAIListServiceAccounts, s.sas, func(sa *oaServiceAccount) string { return sa.project },
		func(sa *oaServiceAccount) map[string]any {
			return map[string]any{"object": "organization.project.service_account", "id": sa.id, "name": sa.name, "role": "member", "created_at": sa.created}
		})
}

// listProject answers a list of project p's objects (a service account or a
// key), paged by limit and after as OpenAI pages. project and item are
// called under s.mu.
func listProject[V any](s *OpenAI, w http.ResponseWriter, r *http.Request, op string, objs map[string]V,
	project func(V) string, item func(V) map[string]any) {
	if s.begin(w, r, op, s.writeErr) || !s.admin(w, r) {
		return
	}
	limit, ok := limitParam(r, "limit", 20, 100)
	if !ok {
		s.writeErr(w, http.StatusBadRequest, "", "Invalid 'limit': must be between 1 and 100.")
		return
	}
	p := r.PathValue("p")
	s.mu.Lock()
	var ids []string
	for id, o := range objs {
		if project(o) == p {
			ids = append(ids, id)
		}
	}
	ids, more := page(ids, r.URL.Query().Get("after"), limit)
	data := make([]any, 0, len(ids))
	for _, id := range ids {
		data = append(data, item(objs[id]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, listEnvelope(data, ids, more))
}

func listEnvelope(data []any, ids []string, more bool) map[string]any {
	env := map[string]any{"object": "list", "data": data, "first_id": nil, "last_id": nil, "has_more": more}
	if len(ids) > 0 {
		env["first_id"], env["last_id"] = ids[0], ids[len(ids)-1]
	}
	return env
}

func (s *OpenAI) createSA(w http.ResponseWriter, r *http.Request) {
	field, answered := s.beginField(w, r, OpOpenAICreateServiceAccount, s.writeErr)
	if answered || !s.admin(w, r) {
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.Name) == "" {
		s.writeErr(w, http.StatusBadRequest, "", "Missing required parameter: 'name'.")
		return
	}
	p := r.PathValue("p")
	now := time.Now().Unix()
	s.mu.Lock()
	sa := &oaServiceAccount{id: s.nextID("svc_acct_"), name: body.Name, project: p, created: now}
	k := &oaKey{id: s.nextID("key_"), name: "Secret Key", project: p, saID: sa.id, created: now,
		value: s.keep("sk-svcacct-" + randChars(40, alnum) + "T3BlbkFJ" + randChars(40, alnum))}
	sa.keyID = k.id
	s.sas[sa.id], s.keys[k.id] = sa, k
	s.mu.Unlock()
	out := map[string]any{
		"object": "organization.project.service_account", "id": sa.id, "name": sa.name, "role": "member", "created_at": now,
		"api_key": map[string]any{"object": "organization.project.service_account.api_key", "value": k.value, "name": k.name, "created_at": now, "id": k.id},
	}
	setField(out, field)
	writeJSON(w, http.StatusOK, out)
}

func (s *OpenAI) deleteSA(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpOpenAIDeleteServiceAccount, s.writeErr) || !s.admin(w, r) {
		return
	}
	id := r.PathValue("sa")
	s.mu.Lock()
	sa := s.sas[id]
	if sa != nil && sa.project == r.PathValue("p") {
		delete(s.sas, id)
		for kid, k := range s.keys {
			if k.saID == id {
				delete(s.keys, kid)
			}
		}
	}
	s.mu.Unlock()
	if sa == nil {
		s.writeErr(w, http.StatusNotFound, "", "No such service account: "+id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "organization.project.service_account.deleted", "id": id, "deleted": true})
}

func (s *OpenAI) listKeys(w http.ResponseWriter, r *http.Request) {
	listProject(s, w, r, OpOpenAIListAPIKeys, s.keys, func(k *oaKey) string { return k.project }, func(k *oaKey) map[string]any {
		owner := map[string]any{"type": "user", "user": map[string]any{"id": "user_abc", "name": "First Last", "role": "owner"}}
		if k.saID != "" {
			owner = map[string]any{"type": "service_account", "service_account": map[string]any{"id": k.saID, "name": s.sas[k.saID].name, "role": "member"}}
		}
		return map[string]any{"object": "organization.project.api_key", "id": k.id, "name": k.name,
			"redacted_value": k.value[:8] + "..." + k.value[len(k.value)-4:], "created_at": k.created, "last_used_at": nil, "owner": owner}
	})
}

func (s *OpenAI) deleteKey(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpOpenAIDeleteAPIKey, s.writeErr) || !s.admin(w, r) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	k := s.keys[id]
	switch {
	case k == nil || k.project != r.PathValue("p"):
		s.mu.Unlock()
		s.writeErr(w, http.StatusNotFound, "", "No such API key: "+id)
		return
	case k.saID != "":
		s.mu.Unlock()
		s.writeErr(w, http.StatusBadRequest, "", "Cannot delete an API key owned by a service account; delete the service account instead.")
		return
	}
	delete(s.keys, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"object": "organization.project.api_key.deleted", "id": id, "deleted": true})
}
