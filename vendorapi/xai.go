package vendorapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/keylease/keylease/secret"
)

// DefaultXAIACLs grant a minted xAI key every model and endpoint of the team;
// without ACLs an xAI key can call nothing.
var DefaultXAIACLs = []string{"api-key:model:*", "api-key:endpoint:*"}

// XAI is the xAI client: Check against the inference API, Team for the
// management API (a separate host and a separate management key).
type XAI struct {
	client
	base, mgmt string
}

// NewXAI reads XAI_BASE_URL (default https://api.x.ai/v1) and
// XAI_MANAGEMENT_URL (default https://management-api.x.ai).
func NewXAI(o Options) (*XAI, error) {
	base, err := baseURL(o.Getenv, "XAI_BASE_URL", "https://api.x.ai/v1")
	if err != nil {
		return nil, err
	}
	mgmt, err := baseURL(o.Getenv, "XAI_MANAGEMENT_URL", "https://management-api.x.ai")
	if err != nil {
		return nil, err
	}
	return &XAI{client: newClient("xai", o, decodeXAIError), base: base, mgmt: mgmt}, nil
}

// Check calls GET /api-key with key. xAI answers an invalid key with 400
// (401 is taken the same way); a 200 can still describe a disabled or
// blocked key, which is Invalid too. Anything else is Indeterminate.
func (x *XAI) Check(ctx context.Context, key secret.Value) (Verdict, error) {
	var w struct {
		Disabled    bool `json:"api_key_disabled"`
		Blocked     bool `json:"api_key_blocked"`
		TeamBlocked bool `json:"team_blocked"`
	}
	err := x.do(ctx, call{op: "check key", method: http.MethodGet, url: x.base + "/api-key", auth: bearer(key), idempotent: true}, &w)
	if err == nil && (w.Disabled || w.Blocked || w.TeamBlocked) {
		return Invalid, nil
	}
	return verdictOf(err, func(e *Error) bool { return e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized })
}

// decodeXAIError reads the inference API's {"code":"<gRPC status phrase>",
// "error":"<message>"} and the management API's gRPC-gateway form
// {"code":<number>,"message":…}. The message is never kept.
func decodeXAIError(b []byte) (typ, code string) {
	var w struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(b, &w) != nil {
		return "", ""
	}
	if s := jsonString(w.Code); s != "" {
		return "", safeToken(s)
	}
	var n int
	if len(w.Code) > 0 && json.Unmarshal(w.Code, &n) == nil {
		return "", strconv.Itoa(n)
	}
	return "", ""
}

// XAITeam is the management API of one team, called with a management key.
// It is a Minter (a new API key), a Disabler (delete it) and a Lister.
type XAITeam struct {
	x    *XAI
	mgmt secret.Value
	team string
	acls []string
}

// Team returns the management client of teamID. acls are given to minted
// keys (nil: DefaultXAIACLs).
func (x *XAI) Team(mgmt secret.Value, teamID string, acls []string) *XAITeam {
	if acls == nil {
		acls = DefaultXAIACLs
	}
	return &XAITeam{x: x, mgmt: mgmt, team: teamID, acls: acls}
}

// XAIKey is an xAI API key as the management API describes it.
type XAIKey struct {
	ID       string // apiKeyId
	Name     string
	Redacted string // redactedApiKey
	Disabled bool
	Created  time.Time
	ACLs     []string
}

type wireXAIKey struct {
	APIKey         wireSecret `json:"apiKey"`
	APIKeyID       string     `json:"apiKeyId"`
	Name           string     `json:"name"`
	RedactedAPIKey string     `json:"redactedApiKey"`
	Disabled       bool       `json:"disabled"`
	CreateTime     time.Time  `json:"createTime"`
	ACLStrings     []string   `json:"aclStrings"`
}

func (w wireXAIKey) key() XAIKey {
	return XAIKey{ID: w.APIKeyID, Name: w.Name, Redacted: redactedHint(w.RedactedAPIKey), Disabled: w.Disabled, Created: w.CreateTime, ACLs: w.ACLStrings}
}

// CreateKey creates an API key; xAI returns its value once. Not retried on
// 5xx (it may have been created): list and look for name first.
func (t *XAITeam) CreateKey(ctx context.Context, name string) (XAIKey, secret.Value, error) {
	var w wireXAIKey
	err := t.x.do(ctx, call{op: "create api key", method: http.MethodPost,
		url:  t.x.mgmt + "/auth/teams/" + url.PathEscape(t.team) + "/api-keys",
		body: map[string]any{"name": name, "acls": t.acls}, auth: bearer(t.mgmt)}, &w)
	k := w.key()
	if err != nil {
		// An answer that decoded in part still says which key now exists:
		// the caller deletes it.
		w.APIKey.v.Wipe()
		return k, secret.Value{}, err
	}
	if w.APIKey.v.IsZero() {
		return k, secret.Value{}, fmt.Errorf("xai create api key: the answer has no apiKey; delete api key %s and retry", safeToken(k.ID))
	}
	return k, w.APIKey.v, nil
}

// DeleteKey deletes an API key.
func (t *XAITeam) DeleteKey(ctx context.Context, id string) error {
	return t.x.do(ctx, call{op: "delete api key", method: http.MethodDelete, url: t.x.mgmt + "/auth/api-keys/" + url.PathEscape(id),
		auth: bearer(t.mgmt), idempotent: true}, nil)
}

// Keys lists the team's keys, following paginationToken.
func (t *XAITeam) Keys(ctx context.Context) ([]XAIKey, error) {
	var all []XAIKey
	token := ""
	var cs cursors
	for {
		q := url.Values{"pageSize": {strconv.Itoa(t.x.pageSize)}}
		if token != "" {
			q.Set("paginationToken", token)
		}
		// The response's cursor field name is not documented; both spellings
		// a gRPC gateway could produce are read.
		var page struct {
			APIKeys         []wireXAIKey `json:"apiKeys"`
			PaginationToken string       `json:"paginationToken"`
			NextPageToken   string       `json:"nextPageToken"`
		}
		if err := t.x.do(ctx, call{op: "list api keys", method: http.MethodGet,
			url:  t.x.mgmt + "/auth/teams/" + url.PathEscape(t.team) + "/api-keys?" + q.Encode(),
			auth: bearer(t.mgmt), idempotent: true}, &page); err != nil {
			return nil, err
		}
		for _, w := range page.APIKeys {
			all = append(all, w.key())
		}
		next := page.PaginationToken
		if next == "" {
			next = page.NextPageToken
		}
		if next == "" || next == token || len(page.APIKeys) == 0 {
			return all, nil
		}
		if err := cs.next(t.x.vendor, "list api keys", next); err != nil {
			return nil, err
		}
		token = next
	}
}

// Propagated asks whether key id is live everywhere yet; a new key is not,
// at first, and should not be handed out before it is. The answer's shape is
// not documented: a "propagated" boolean is read.
func (t *XAITeam) Propagated(ctx context.Context, id string) (bool, error) {
	var w struct {
		Propagated bool `json:"propagated"`
	}
	err := t.x.do(ctx, call{op: "check api key propagation", method: http.MethodGet,
		url: t.x.mgmt + "/auth/api-keys/" + url.PathEscape(id) + "/propagation", auth: bearer(t.mgmt), idempotent: true}, &w)
	return w.Propagated, err
}

// Mint creates a key named name with the team's ACLs. On an error
// Minted.ID is still set when the key was created, so that the caller can
// delete it.
func (t *XAITeam) Mint(ctx context.Context, name string) (Minted, error) {
	k, v, err := t.CreateKey(ctx, name)
	if err != nil {
		return Minted{ID: k.ID, KeyID: k.ID, Name: k.Name}, err
	}
	return Minted{ID: k.ID, KeyID: k.ID, Name: k.Name, Key: v}, nil
}

// Disable deletes key id.
func (t *XAITeam) Disable(ctx context.Context, id string) error { return t.DeleteKey(ctx, id) }

// List lists the team's keys as KeyInfo.
func (t *XAITeam) List(ctx context.Context) ([]KeyInfo, error) {
	ks, err := t.Keys(ctx)
	return keyInfos(ks, err, func(k XAIKey) KeyInfo {
		st := "active"
		if k.Disabled {
			st = "disabled"
		}
		return KeyInfo{ID: k.ID, KeyID: k.ID, Name: k.Name, Status: st, Hint: k.Redacted, Created: k.Created}
	})
}

// Compile-time checks that each vendor satisfies the shared interfaces.
var (
	_ Validator = (*OpenAI)(nil)
	_ Validator = (*Anthropic)(nil)
	_ Validator = (*XAI)(nil)
	_ Minter    = (*OpenAIProject)(nil)
	_ Minter    = (*XAITeam)(nil)
	_ Disabler  = (*OpenAIProject)(nil)
	_ Disabler  = (*AnthropicOrg)(nil)
	_ Disabler  = (*XAITeam)(nil)
	_ Lister    = (*OpenAIProject)(nil)
	_ Lister    = (*AnthropicOrg)(nil)
	_ Lister    = (*XAITeam)(nil)
)

// Propagation polling: quick at first (a key is usually live within a second
// or two), then every couple of seconds until ctx ends.
const (
	propagationFirstPoll = 200 * time.Millisecond
	propagationMaxPoll   = 2 * time.Second
)

// WaitLive polls Propagated until key id is live or ctx ends; it returns
// the number of polls. A key must not be handed out before this returns nil.
func (t *XAITeam) WaitLive(ctx context.Context, id string) (int, error) {
	wait := propagationFirstPoll
	for n := 1; ; n++ {
		live, err := t.Propagated(ctx, id)
		if err != nil {
			return n, err
		}
		if live {
			return n, nil
		}
		if err := t.x.sleep(ctx, wait); err != nil {
			return n, fmt.Errorf("xai api key %s is not live yet after %d propagation check(s): %w", id, n, err)
		}
		wait = min(2*wait, propagationMaxPoll)
	}
}
