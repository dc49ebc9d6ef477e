package vendorfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// xAI operation names for fault rules and counters.
const (
	OpXAIAPIKey      = "xai.api_key"
	OpXAICreateKey   = "xai.create_api_key"
	OpXAIListKeys    = "xai.list_api_keys"
	OpXAIDeleteKey   = "xai.delete_api_key"
	OpXAIPropagation = "xai.propagation"
)

type xKey struct {
	id, name, value, team string
	disabled              bool
	acls                  []string
	created               time.Time
	polls                 int // propagation polls left before the key is live
}

// XAI emulates both xAI hosts on one server: the inference API's
// GET /v1/api-key and the management API's /auth/… key endpoints. Point
// XAI_BASE_URL at BaseURL and XAI_MANAGEMENT_URL at URL.
type XAI struct {
	base
	// PropagationPolls is how many propagation checks a new key answers
	// "not yet" before it is live.
	PropagationPolls int
	// StrictPropagation makes a key that is not live yet unknown to the
	// inference API (400, as an invalid key), so that a client handing out
	// a key before propagation is caught.
	StrictPropagation bool

	mgmt map[string]bool
	keys map[string]*xKey
}

// StartXAI serves a new xAI emulator on 127.0.0.1.
func StartXAI() (*XAI, error) {
	s := &XAI{mgmt: map[string]bool{}, keys: map[string]*xKey{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/api-key", s.apiKey)
	m.HandleFunc("POST /auth/teams/{team}/api-keys", s.create)
	m.HandleFunc("GET /auth/teams/{team}/api-keys", s.list)
	m.HandleFunc("DELETE /auth/api-keys/{id}", s.delete)
	m.HandleFunc("GET /auth/api-keys/{id}/propagation", s.propagation)
	if err := s.start(m); err != nil {
		return nil, err
	}
	return s, nil
}

// BaseURL is what XAI_BASE_URL should be set to.
func (s *XAI) BaseURL() string { return s.URL() + "/v1" }

// AddManagementKey makes a management key and returns it.
func (s *XAI) AddManagementKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := "xai-token-" + randChars(80, alnum)
	s.mgmt[v] = true
	return v
}

// AddKey makes an API key of team (xai- + 80 alphanumerics) and returns its id and value.
func (s *XAI) AddKey(team, name string, disabled bool) (id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.newKey(team, name, nil)
	k.disabled = disabled
	return k.id, k.value
}

// Keys is how many keys team has.
func (s *XAI) Keys(team string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.keys {
		if k.team == team {
			n++
		}
	}
	return n
}

func (s *XAI) newKey(team, name string, acls []string) *xKey {
	k := &xKey{id: s.nextID("key-"), name: name, team: team, acls: acls, created: time.Now().UTC().Truncate(time.Second),
		value: s.keep("xai-" + randChars(80, alnum))}
	s.keys[k.id] = k
	return k
}

// writeErr: the inference host's {"code":"<status phrase>","error":…} form.
func (s *XAI) writeErr(w http.ResponseWriter, status int, code, msg string) {
	if code == "" {
		code = grpcPhrase(status)
	}
	writeJSON(w, status, map[string]any{"code": code, "error": msg})
}

// mgmtErr: the management host's gRPC-gateway form.
func (s *XAI) mgmtErr(w http.ResponseWriter, status int, code, msg string) {
	n := map[int]int{400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 503: 14}[status]
	if c, err := strconv.Atoi(code); err == nil {
		n = c
	}
	writeJSON(w, status, map[string]any{"code": n, "message": msg, "details": []any{}})
}

func grpcPhrase(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Client specified an invalid argument"
	case http.StatusUnauthorized:
		return "Request had invalid authentication credentials"
	case http.StatusForbidden:
		return "The caller does not have permission"
	case http.StatusTooManyRequests:
		return "Some resource has been exhausted"
	case http.StatusServiceUnavailable:
		return "The service is currently unavailable"
	}
	return "Internal error"
}

func (s *XAI) apiKey(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpXAIAPIKey, s.writeErr) {
		return
	}
	tok := bearerToken(r)
	s.mu.Lock()
	var k *xKey
	for _, c := range s.keys {
		if c.value == tok && (!s.StrictPropagation || c.polls == 0) {
			k = c
		}
	}
	var out map[string]any
	if k != nil {
		out = map[string]any{"redacted_api_key": k.value[:6] + "****" + k.value[len(k.value)-4:], "user_id": "user-1", "name": k.name,
			"create_time": k.created.Format(time.RFC3339), "modify_time": k.created.Format(time.RFC3339), "modified_by": "user-1",
			"team_id": k.team, "acls": k.acls, "api_key_id": k.id, "team_blocked": false, "api_key_blocked": false, "api_key_disabled": k.disabled}
	}
	s.mu.Unlock()
	if k == nil {
		hint := "***"
		if len(tok) > 4 {
			hint = tok[:2] + "***" + tok[len(tok)-2:]
		}
		s.writeErr(w, http.StatusBadRequest, "", "Incorrect API key provided: "+hint+". You can obtain an API key from https://console.x.ai.")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *XAI) mgmtAuth(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	ok := s.mgmt[bearerToken(r)]
	s.mu.Unlock()
	if !ok {
		s.mgmtErr(w, http.StatusUnauthorized, "", "Invalid management key")
	}
	return ok
}

func (k *xKey) wire(withValue bool) map[string]any {
	m := map[string]any{"redactedApiKey": k.value[:6] + "****" + k.value[len(k.value)-4:], "userId": "user-1", "name": k.name,
		"createTime": k.created.Format(time.RFC3339), "modifyTime": k.created.Format(time.RFC3339), "teamId": k.team,
		"apiKeyId": k.id, "disabled": k.disabled, "aclStrings": k.acls, "qps": nil, "qpm": nil, "tpm": nil}
	if withValue {
		m["apiKey"] = k.value
	}
	return m
}

func (s *XAI) create(w http.ResponseWriter, r *http.Request) {
	field, answered := s.beginField(w, r, OpXAICreateKey, s.mgmtErr)
	if answered || !s.mgmtAuth(w, r) {
		return
	}
	var body struct {
		Name string   `json:"name"`
		ACLs []string `json:"acls"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.Name) == "" {
		s.mgmtErr(w, http.StatusBadRequest, "", "name: should not be empty")
		return
	}
	s.mu.Lock()
	k := s.newKey(r.PathValue("team"), body.Name, body.ACLs)
	k.polls = s.PropagationPolls
	out := k.wire(true)
	s.mu.Unlock()
	setField(out, field)
	writeJSON(w, http.StatusOK, out)
}

func (s *XAI) list(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpXAIListKeys, s.mgmtErr) || !s.mgmtAuth(w, r) {
		return
	}
	limit, ok := limitParam(r, "pageSize", 100, 1000)
	if !ok {
		s.mgmtErr(w, http.StatusBadRequest, "", "pageSize: out of range")
		return
	}
	team := r.PathValue("team")
	s.mu.Lock()
	var ids []string
	for id, k := range s.keys {
		if k.team == team {
			ids = append(ids, id)
		}
	}
	// The cursor is opaque to clients: the last id of the page.
	ids, more := page(ids, r.URL.Query().Get("paginationToken"), limit)
	data := make([]any, 0, len(ids))
	for _, id := range ids {
		data = append(data, s.keys[id].wire(false))
	}
	s.mu.Unlock()
	out := map[string]any{"apiKeys": data}
	if more {
		out["paginationToken"] = ids[len(ids)-1]
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *XAI) delete(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpXAIDeleteKey, s.mgmtErr) || !s.mgmtAuth(w, r) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.keys[id]
	delete(s.keys, id)
	s.mu.Unlock()
	if !ok {
		s.mgmtErr(w, http.StatusNotFound, "", "API key not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *XAI) propagation(w http.ResponseWriter, r *http.Request) {
	if s.begin(w, r, OpXAIPropagation, s.mgmtErr) || !s.mgmtAuth(w, r) {
		return
	}
	s.mu.Lock()
	k := s.keys[r.PathValue("id")]
	live := false
	if k != nil {
		if k.polls > 0 {
			k.polls--
		}
		live = k.polls == 0
	}
	s.mu.Unlock()
	if k == nil {
		s.mgmtErr(w, http.StatusNotFound, "", "API key not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"propagated": live})
}
