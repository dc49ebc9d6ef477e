package vendorapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/keylease/keylease/secret"
)

// OpenAI is the OpenAI API client: Check for any key, Project for the admin calls.
type OpenAI struct {
	client
	base string
}

// NewOpenAI reads OPENAI_BASE_URL (default https://api.openai.com/v1).
func NewOpenAI(o Options) (*OpenAI, error) {
	base, err := baseURL(o.Getenv, "OPENAI_BASE_URL", "https://api.openai.com/v1")
	if err != nil {
		return nil, err
	}
	return &OpenAI{client: newClient("openai", o, decodeOpenAIError), base: base}, nil
}

// Check calls GET /models with key: 200 is Valid, 401 invalid_api_key is
// Invalid, anything else (a restricted key's missing-scope 401 or 403,
// 429, 5xx, network) is Indeterminate.
func (o *OpenAI) Check(ctx context.Context, key secret.Value) (Verdict, error) {
	err := o.do(ctx, call{op: "check key", method: http.MethodGet, url: o.base + "/models", auth: bearer(key), idempotent: true}, nil)
	return openAIVerdict(err)
}

func openAIVerdict(err error) (Verdict, error) {
	return verdictOf(err, func(e *Error) bool { return e.Status == http.StatusUnauthorized && e.Code == "invalid_api_key" })
}

// decodeOpenAIError reads {"error":{"type","code","message","param"}}; code
// may be a string, a number or null.
func decodeOpenAIError(b []byte) (typ, code string) {
	var w struct {
		Error struct {
			Type json.RawMessage `json:"type"`
			Code json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &w) != nil {
		return "", ""
	}
	code = jsonString(w.Error.Code)
	if code == "" && len(w.Error.Code) > 0 && w.Error.Code[0] >= '0' && w.Error.Code[0] <= '9' {
		if n, err := strconv.Atoi(string(w.Error.Code)); err == nil {
			code = strconv.Itoa(n)
		}
	}
	return safeToken(jsonString(w.Error.Type)), safeToken(code)
}

// OpenAIProject is the admin API of one project, called with an admin key.
// It is a Minter (a new service account and its key), a Disabler (delete
// the service account, which revokes its keys) and a Lister (service accounts).
type OpenAIProject struct {
	o       *OpenAI
	admin   secret.Value
	project string
}

// Project returns the admin client of projectID, authenticated with admin.
func (o *OpenAI) Project(admin secret.Value, projectID string) *OpenAIProject {
	return &OpenAIProject{o: o, admin: admin, project: projectID}
}

func (p *OpenAIProject) url(parts ...string) string {
	u := p.o.base + "/organization/projects/" + url.PathEscape(p.project)
	for _, s := range parts {
		u += "/" + url.PathEscape(s)
	}
	return u
}

// ServiceAccount is an OpenAI project service account.
type ServiceAccount struct {
	ID      string // svc_acct_…
	Name    string
	Role    string
	Created int64  // Unix seconds
	KeyID   string // the key created with it, when known
}

type wireServiceAccount struct {
	Object    string `json:"object"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt int64  `json:"created_at"`
	APIKey    *struct {
		ID        string     `json:"id"`
		Name      string     `json:"name"`
		Value     wireSecret `json:"value"`
		CreatedAt int64      `json:"created_at"`
	} `json:"api_key"`
}

// CreateServiceAccount creates a service account; OpenAI returns its API
// key's value once, here as a secret.Value. Not retried on 5xx (it may have
// been created): list and look for name before trying again.
func (p *OpenAIProject) CreateServiceAccount(ctx context.Context, name string) (ServiceAccount, secret.Value, error) {
	var w wireServiceAccount
	err := p.o.do(ctx, call{op: "create service account", method: http.MethodPost, url: p.url("service_accounts"),
		body: map[string]string{"name": name}, auth: bearer(p.admin)}, &w)
	sa := ServiceAccount{ID: w.ID, Name: w.Name, Role: w.Role, Created: w.CreatedAt}
	if err != nil {
		// An answer that decoded in part still says which account now
		// exists: the caller deletes it.
		if w.APIKey != nil {
			w.APIKey.Value.v.Wipe()
		}
		return sa, secret.Value{}, err
	}
	if w.APIKey == nil || w.APIKey.Value.v.IsZero() {
		return sa, secret.Value{}, fmt.Errorf("openai create service account: the answer has no api_key.value; delete service account %s and retry", safeToken(sa.ID))
	}
	sa.KeyID = w.APIKey.ID
	return sa, w.APIKey.Value.v, nil
}

// DeleteServiceAccount deletes a service account and so revokes its keys.
func (p *OpenAIProject) DeleteServiceAccount(ctx context.Context, id string) error {
	var w struct {
		Deleted bool `json:"deleted"`
	}
	if err := p.o.do(ctx, call{op: "delete service account", method: http.MethodDelete, url: p.url("service_accounts", id),
		auth: bearer(p.admin), idempotent: true}, &w); err != nil {
		return err
	}
	if !w.Deleted {
		return fmt.Errorf("openai delete service account %s: the answer did not say deleted; check the project's service accounts", id)
	}
	return nil
}

// openAIPage is OpenAI's list envelope.
type openAIPage[T any] struct {
	Data    []T    `json:"data"`
	FirstID string `json:"first_id"`
	LastID  string `json:"last_id"`
	HasMore bool   `json:"has_more"`
}

// openAIList follows has_more/after, one call per page.
func openAIList[T any](ctx context.Context, p *OpenAIProject, op, base string, extra url.Values, lastID func(T) string) ([]T, error) {
	var all []T
	after := ""
	var cs cursors
	for {
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(min(p.o.pageSize, 100)))
		if after != "" {
			q.Set("after", after)
		}
		var page openAIPage[T]
		if err := p.o.do(ctx, call{op: op, method: http.MethodGet, url: base + "?" + q.Encode(), auth: bearer(p.admin), idempotent: true}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		next := page.LastID
		if next == "" && len(page.Data) > 0 {
			next = lastID(page.Data[len(page.Data)-1])
		}
		if !page.HasMore || len(page.Data) == 0 || next == "" || next == after {
			return all, nil
		}
		if err := cs.next(p.o.vendor, op, next); err != nil {
			return nil, err
		}
		after = next
	}
}

// ServiceAccounts lists the project's service accounts.
func (p *OpenAIProject) ServiceAccounts(ctx context.Context) ([]ServiceAccount, error) {
	ws, err := openAIList(ctx, p, "list service accounts", p.url("service_accounts"), nil, func(w wireServiceAccount) string { return w.ID })
	if err != nil {
		return nil, err
	}
	out := make([]ServiceAccount, 0, len(ws))
	for _, w := range ws {
		out = append(out, ServiceAccount{ID: w.ID, Name: w.Name, Role: w.Role, Created: w.CreatedAt})
	}
	return out, nil
}

// ProjectKey is an API key of a project, as the admin API lists it.
type ProjectKey struct {
	ID            string // key_…
	Name          string
	RedactedValue string // "sk-…abcd"
	Created       int64  // Unix seconds
	LastUsed      int64  // Unix seconds, 0 when never used
	OwnerType     string // "user" or "service_account"
	OwnerID       string // the user's or service account's id
}

type wireProjectKey struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	RedactedValue string `json:"redacted_value"`
	CreatedAt     int64  `json:"created_at"`
	LastUsedAt    *int64 `json:"last_used_at"`
	Owner         struct {
		Type           string               `json:"type"`
		User           *struct{ ID string } `json:"user"`
		ServiceAccount *struct{ ID string } `json:"service_account"`
	} `json:"owner"`
}

// APIKeys lists the project's API keys, with owner_project_access=any so
// that no enabled key is hidden.
func (p *OpenAIProject) APIKeys(ctx context.Context) ([]ProjectKey, error) {
	ws, err := openAIList(ctx, p, "list project api keys", p.url("api_keys"), url.Values{"owner_project_access": {"any"}}, func(w wireProjectKey) string { return w.ID })
	if err != nil {
		return nil, err
	}
	out := make([]ProjectKey, 0, len(ws))
	for _, w := range ws {
		k := ProjectKey{ID: w.ID, Name: w.Name, RedactedValue: redactedHint(w.RedactedValue), Created: w.CreatedAt, OwnerType: w.Owner.Type}
		if w.LastUsedAt != nil {
			k.LastUsed = *w.LastUsedAt
		}
		if w.Owner.User != nil {
			k.OwnerID = w.Owner.User.ID
		} else if w.Owner.ServiceAccount != nil {
			k.OwnerID = w.Owner.ServiceAccount.ID
		}
		out = append(out, k)
	}
	return out, nil
}

// DeleteAPIKey deletes a user-owned project key. OpenAI refuses this for a
// service account's key: delete the service account instead.
func (p *OpenAIProject) DeleteAPIKey(ctx context.Context, id string) error {
	return p.o.do(ctx, call{op: "delete project api key", method: http.MethodDelete, url: p.url("api_keys", id), auth: bearer(p.admin), idempotent: true}, nil)
}

// Mint creates a service account named name and returns its key. On an
// error Minted.ID is still set when the account was created (its answer
// lacked the key, or did not decode), so that the caller can delete it.
func (p *OpenAIProject) Mint(ctx context.Context, name string) (Minted, error) {
	sa, key, err := p.CreateServiceAccount(ctx, name)
	if err != nil {
		return Minted{ID: sa.ID, Name: sa.Name}, err
	}
	return Minted{ID: sa.ID, KeyID: sa.KeyID, Name: sa.Name, Key: key}, nil
}

// Disable deletes service account id.
func (p *OpenAIProject) Disable(ctx context.Context, id string) error {
	return p.DeleteServiceAccount(ctx, id)
}

// List lists the project's service accounts as KeyInfo (ID: the service account).
func (p *OpenAIProject) List(ctx context.Context) ([]KeyInfo, error) {
	sas, err := p.ServiceAccounts(ctx)
	return keyInfos(sas, err, func(sa ServiceAccount) KeyInfo {
		return KeyInfo{ID: sa.ID, Name: sa.Name, Status: "active", Created: unixTime(sa.Created)}
	})
}

// redactedHint keeps a vendor's redacted form only when it is short and
// visibly redacted, so a misbehaving server cannot smuggle a value through it.
func redactedHint(s string) string {
	if len(s) > 40 || len(keyScanner.Scan([]byte(s))) > 0 {
		return ""
	}
	return s
}
