package vendorapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/keylease/keylease/secret"
)

// AnthropicVersion is the anthropic-version header every call sends.
const AnthropicVersion = "2023-06-01"

// Anthropic is the Anthropic API client: Check for any key, Org for the admin calls.
type Anthropic struct {
	client
	base string
}

// NewAnthropic reads ANTHROPIC_BASE_URL (default https://api.anthropic.com).
func NewAnthropic(o Options) (*Anthropic, error) {
	base, err := baseURL(o.Getenv, "ANTHROPIC_BASE_URL", "https://api.anthropic.com")
	if err != nil {
		return nil, err
	}
	return &Anthropic{client: newClient("anthropic", o, decodeAnthropicError), base: base}, nil
}

func anthropicAuth(key secret.Value) func(http.Header) {
	return func(h http.Header) {
		h.Set("x-api-key", string(key.Bytes()))
		h.Set("anthropic-version", AnthropicVersion)
	}
}

// Check calls GET /v1/models with key: 200 Valid, 401 authentication_error
// Invalid, anything else Indeterminate (403 permission_error included: the
// key authenticated but may not list models).
func (a *Anthropic) Check(ctx context.Context, key secret.Value) (Verdict, error) {
	err := a.do(ctx, call{op: "check key", method: http.MethodGet, url: a.base + "/v1/models?limit=1", auth: anthropicAuth(key), idempotent: true}, nil)
	return verdictOf(err, func(e *Error) bool { return e.Status == http.StatusUnauthorized && e.Type == "authentication_error" })
}

// AnthropicOAuthBeta is the anthropic-beta header an API call with a
// federated (OAuth) token needs besides Authorization: Bearer.
const AnthropicOAuthBeta = "oauth-2025-04-20"

// CheckOAuth is Check for a federated sk-ant-oat01- token, which goes as a
// bearer token with the OAuth beta header instead of x-api-key.
func (a *Anthropic) CheckOAuth(ctx context.Context, tok secret.Value) (Verdict, error) {
	auth := func(h http.Header) {
		bearer(tok)(h)
		h.Set("anthropic-version", AnthropicVersion)
		h.Set("anthropic-beta", AnthropicOAuthBeta)
	}
	err := a.do(ctx, call{op: "check token", method: http.MethodGet, url: a.base + "/v1/models?limit=1", auth: auth, idempotent: true}, nil)
	return verdictOf(err, func(e *Error) bool { return e.Status == http.StatusUnauthorized && e.Type == "authentication_error" })
}

// decodeAnthropicError reads {"type":"error","error":{"type","message"},"request_id"}.
func decodeAnthropicError(b []byte) (typ, code string) {
	var w struct {
		Error struct {
			Type json.RawMessage `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &w) != nil {
		return "", ""
	}
	return safeToken(jsonString(w.Error.Type)), ""
}

// AnthropicOrg is the organization admin API, called with an admin key
// (sk-ant-admin01-…). Anthropic keys cannot be created or deleted by API, so
// it is a Disabler (status inactive) and a Lister, not a Minter.
type AnthropicOrg struct {
	a     *Anthropic
	admin secret.Value
}

// Org returns the admin client authenticated with admin.
func (a *Anthropic) Org(admin secret.Value) *AnthropicOrg { return &AnthropicOrg{a: a, admin: admin} }

// AnthropicKey is an API key as the admin API describes it (never its value).
type AnthropicKey struct {
	ID          string // apikey_…
	Name        string
	Status      string // active, inactive, archived
	WorkspaceID string
	Hint        string // partial_key_hint
	Created     time.Time
}

type wireAnthropicKey struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	Name           string    `json:"name"`
	Status         string    `json:"status"`
	WorkspaceID    *string   `json:"workspace_id"`
	PartialKeyHint *string   `json:"partial_key_hint"`
	CreatedAt      time.Time `json:"created_at"`
}

func (w wireAnthropicKey) key() AnthropicKey {
	k := AnthropicKey{ID: w.ID, Name: w.Name, Status: w.Status, Created: w.CreatedAt}
	if w.WorkspaceID != nil {
		k.WorkspaceID = *w.WorkspaceID
	}
	if w.PartialKeyHint != nil {
		k.Hint = redactedHint(*w.PartialKeyHint)
	}
	return k
}

func (o *AnthropicOrg) keyURL(id string) string {
	return o.a.base + "/v1/organizations/api_keys/" + url.PathEscape(id)
}

// Key reads one key's metadata.
func (o *AnthropicOrg) Key(ctx context.Context, id string) (AnthropicKey, error) {
	var w wireAnthropicKey
	err := o.a.do(ctx, call{op: "get api key", method: http.MethodGet, url: o.keyURL(id), auth: anthropicAuth(o.admin), idempotent: true}, &w)
	return w.key(), err
}

// Keys lists the organization's keys, all of them when status is "".
// Pages follow has_more/after_id.
func (o *AnthropicOrg) Keys(ctx context.Context, status string) ([]AnthropicKey, error) {
	var all []AnthropicKey
	after := ""
	var cs cursors
	for {
		q := url.Values{"limit": {strconv.Itoa(min(o.a.pageSize, 1000))}}
		if status != "" {
			q.Set("status", status)
		}
		if after != "" {
			q.Set("after_id", after)
		}
		var page struct {
			Data    []wireAnthropicKey `json:"data"`
			HasMore bool               `json:"has_more"`
			LastID  *string            `json:"last_id"`
		}
		if err := o.a.do(ctx, call{op: "list api keys", method: http.MethodGet, url: o.a.base + "/v1/organizations/api_keys?" + q.Encode(),
			auth: anthropicAuth(o.admin), idempotent: true}, &page); err != nil {
			return nil, err
		}
		for _, w := range page.Data {
			all = append(all, w.key())
		}
		next := ""
		if page.LastID != nil {
			next = *page.LastID
		}
		if !page.HasMore || len(page.Data) == 0 || next == "" || next == after {
			return all, nil
		}
		if err := cs.next(o.a.vendor, "list api keys", next); err != nil {
			return nil, err
		}
		after = next
	}
}

// SetStatus sets a key's status (active, inactive or archived). Setting the
// same status twice is harmless, so it is retried like a read.
func (o *AnthropicOrg) SetStatus(ctx context.Context, id, status string) (AnthropicKey, error) {
	var w wireAnthropicKey
	err := o.a.do(ctx, call{op: "update api key status", method: http.MethodPost, url: o.keyURL(id),
		body: map[string]string{"status": status}, auth: anthropicAuth(o.admin), idempotent: true}, &w)
	return w.key(), err
}

// Disable sets key id inactive: it stops working and can be re-activated.
func (o *AnthropicOrg) Disable(ctx context.Context, id string) error {
	_, err := o.SetStatus(ctx, id, "inactive")
	return err
}

// List lists every key as KeyInfo.
func (o *AnthropicOrg) List(ctx context.Context) ([]KeyInfo, error) {
	ks, err := o.Keys(ctx, "")
	return keyInfos(ks, err, func(k AnthropicKey) KeyInfo {
		return KeyInfo{ID: k.ID, Name: k.Name, Status: k.Status, Hint: k.Hint, Created: k.Created}
	})
}
