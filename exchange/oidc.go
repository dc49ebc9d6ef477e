package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keylease/keylease/secret"
)

// Defaults for GitHub Actions on github.com.
const (
	DefaultAudience = "sts.amazonaws.com"
	DefaultIssuer   = "https://token.actions.githubusercontent.com"
)

// The runner's variables; they exist only with `permissions: id-token: write`.
const (
	EnvRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// clockSkew is how far past its expiry a token is still accepted locally, for
// clocks that disagree a little with the issuer's.
const clockSkew = 30 * time.Second

// Identity is the verified, non-secret part of a job's OIDC token.
type Identity struct {
	Issuer, Subject, Audience                          string
	Repository, RepositoryOwner, Ref, SHA              string
	Workflow, JobWorkflowRef, RunID, RunAttempt, Actor string
	EventName, Environment, RunnerEnvironment          string
	IssuedAt, Expiry                                   time.Time
}

// OIDCConfig says where and how to get the job's token.
type OIDCConfig struct {
	RequestURL   string       // ACTIONS_ID_TOKEN_REQUEST_URL
	RequestToken secret.Value // ACTIONS_ID_TOKEN_REQUEST_TOKEN
	Audience     string       // default DefaultAudience
	Issuer       string       // default DefaultIssuer (GHES: https://HOST/_services/token)
	HTTPClient   *http.Client // nil: a proxy-aware client with timeouts
	// OnToken is called with every fresh token before anything else uses it,
	// so the caller can register it with the log masker.
	OnToken func(secret.Value)
}

// HasOIDCEnv reports whether the runner gave the job an OIDC token endpoint.
func HasOIDCEnv(getenv func(string) string) bool {
	return getenv(EnvRequestURL) != "" && getenv(EnvRequestToken) != ""
}

// OIDCConfigFromEnv reads the runner's variables. When they are missing the
// *Error says to grant `permissions: id-token: write`.
func OIDCConfigFromEnv(getenv func(string) string) (OIDCConfig, error) {
	u, t := getenv(EnvRequestURL), getenv(EnvRequestToken)
	var missing []string
	if u == "" {
		missing = append(missing, EnvRequestURL)
	}
	if t == "" {
		missing = append(missing, EnvRequestToken)
	}
	if len(missing) > 0 {
		return OIDCConfig{}, &Error{
			Op: "oidc token", Code: "MissingOIDCEnv",
			Message: strings.Join(missing, " and ") + " not set, so the runner offers no OIDC token",
			Hint:    "add `permissions: id-token: write` to the job (or the workflow) that runs keylease",
		}
	}
	if _, err := url.Parse(u); err != nil {
		return OIDCConfig{}, &Error{Op: "oidc token", Code: "BadRequestURL", Message: EnvRequestURL + " is not a URL", Hint: "the runner sets it; do not override it"}
	}
	return OIDCConfig{RequestURL: u, RequestToken: secret.FromString(t), Audience: DefaultAudience, Issuer: DefaultIssuer}, nil
}

// TokenSource hands out fresh, verified OIDC tokens.
type TokenSource interface {
	Token(ctx context.Context) (secret.Value, *Identity, error)
}

// OIDC gets and verifies the job's tokens.
type OIDC struct {
	cfg OIDCConfig
}

// NewOIDC returns a token source. The issuer's discovery document and JWKS
// are fetched on first use and cached for the life of the process.
func NewOIDC(cfg OIDCConfig) *OIDC {
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = newHTTPClient()
	}
	return &OIDC{cfg: cfg}
}

// Token requests a fresh token, hands it to OnToken, verifies it (signature,
// issuer, audience, expiry) and returns it with its identity.
func (o *OIDC) Token(ctx context.Context) (secret.Value, *Identity, error) {
	tok, err := o.request(ctx)
	if err != nil {
		return secret.Value{}, nil, err
	}
	if o.cfg.OnToken != nil {
		o.cfg.OnToken(tok)
	}
	id, err := o.verify(ctx, tok)
	if err != nil {
		return secret.Value{}, nil, err
	}
	return tok, id, nil
}

// request gets a token from the runner, retrying 5xx, 429 and network
// failures with jittered backoff.
func (o *OIDC) request(ctx context.Context) (secret.Value, error) {
	u, err := tokenURL(o.cfg.RequestURL, o.cfg.Audience)
	if err != nil {
		return secret.Value{}, &Error{Op: "oidc token", Code: "BadRequestURL", Message: EnvRequestURL + " is not a URL", Hint: "the runner sets it; do not override it"}
	}
	var last *Error
	for attempt := 1; attempt <= backoff.attempts; attempt++ {
		if attempt > 1 {
			if err := backoff.wait(ctx, attempt-1); err != nil {
				return secret.Value{}, &Error{Op: "oidc token", Code: "Canceled", Message: err.Error(), cause: contextErr(err)}
			}
		}
		tok, e := o.requestOnce(ctx, u)
		if e == nil {
			return tok, nil
		}
		last = e
		if !e.Retryable {
			return secret.Value{}, e
		}
	}
	last.Message += fmt.Sprintf(" (after %d attempts)", backoff.attempts)
	return secret.Value{}, last
}

func (o *OIDC) requestOnce(ctx context.Context, u string) (secret.Value, *Error) {
	fail := func(code, msg, hint string, retry bool) *Error {
		return &Error{Op: "oidc token", Code: code, Message: msg, Hint: hint, Retryable: retry}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return secret.Value{}, fail("BadRequestURL", EnvRequestURL+" is not a usable URL", "the runner sets it; do not override it", false)
	}
	req.Header.Set("Authorization", "Bearer "+string(o.cfg.RequestToken.Bytes()))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "keylease")
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		if ce := contextErr(err); ce != nil && ctx.Err() != nil {
			return secret.Value{}, &Error{Op: "oidc token", Code: "Canceled", Message: ce.Error(), cause: ce}
		}
		return secret.Value{}, fail("NetworkError", netReason(err), "check the runner's network and HTTPS_PROXY/NO_PROXY", true)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return secret.Value{}, fail("NetworkError", netReason(err), "check the runner's network and HTTPS_PROXY/NO_PROXY", true)
	}
	defer clear(body)
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return secret.Value{}, fail("HTTP"+itoa(resp.StatusCode), "the token endpoint failed", "retry the job; GitHub may be degraded", true)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return secret.Value{}, fail("HTTP"+itoa(resp.StatusCode), "the runner refused the token request",
			"the job's "+EnvRequestToken+" is not valid for this request; run keylease in the job step itself and keep `permissions: id-token: write`", false)
	case resp.StatusCode != http.StatusOK:
		return secret.Value{}, fail("HTTP"+itoa(resp.StatusCode), "the token endpoint answered with an unexpected status", "check "+EnvRequestURL, false)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return secret.Value{}, fail("BadTokenResponse", "the token endpoint's answer has no token", "retry the job", false)
	}
	return secret.FromString(out.Value), nil
}

// tokenURL appends the audience to the runner's URL, which already has a
// query: only the audience is encoded, the runner's query stays as it is.
func tokenURL(base, audience string) (string, error) {
	if _, err := url.Parse(base); err != nil {
		return "", err
	}
	sep := "&"
	if !strings.Contains(base, "?") {
		sep = "?"
	}
	return base + sep + "audience=" + url.QueryEscape(audience), nil
}

// providers caches one go-oidc provider per issuer for the process, so the
// discovery document and JWKS are fetched once.
var providers struct {
	mu sync.Mutex
	m  map[string]*oidc.Provider
}

func (o *OIDC) provider(ctx context.Context) (*oidc.Provider, *Error) {
	providers.mu.Lock()
	defer providers.mu.Unlock()
	if p := providers.m[o.cfg.Issuer]; p != nil {
		return p, nil
	}
	var last *Error
	for attempt := 1; attempt <= backoff.attempts; attempt++ {
		if attempt > 1 {
			if err := backoff.wait(ctx, attempt-1); err != nil {
				return nil, &Error{Op: "oidc discovery", Code: "Canceled", Message: err.Error(), cause: contextErr(err)}
			}
		}
		pc, e := o.discover(ctx)
		if e == nil {
			// The provider keeps this context to fetch the JWKS later:
			// it must outlive the call, so it is not ctx.
			p := pc.NewProvider(oidc.ClientContext(context.Background(), o.cfg.HTTPClient))
			if providers.m == nil {
				providers.m = map[string]*oidc.Provider{}
			}
			providers.m[o.cfg.Issuer] = p
			return p, nil
		}
		last = e
		if !e.Retryable {
			break
		}
	}
	return nil, last
}

// discover fetches <issuer>/.well-known/openid-configuration.
func (o *OIDC) discover(ctx context.Context) (*oidc.ProviderConfig, *Error) {
	fail := func(code, msg string, retry bool) *Error {
		return &Error{Op: "oidc discovery", Code: code, Message: msg, Retryable: retry,
			Hint: "check --oidc-issuer (GHES: https://HOST/_services/token) and the network/proxy to " + o.cfg.Issuer}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.cfg.Issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fail("BadIssuer", "the issuer is not a URL", false)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		if ce := contextErr(err); ce != nil && ctx.Err() != nil {
			return nil, &Error{Op: "oidc discovery", Code: "Canceled", Message: ce.Error(), cause: ce}
		}
		return nil, fail("NetworkError", netReason(err), true)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fail("HTTP"+itoa(resp.StatusCode), "the discovery document could not be fetched", resp.StatusCode >= 500 || resp.StatusCode == 429)
	}
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKS    string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		AuthURL string   `json:"authorization_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fail("BadDiscovery", "the discovery document is not JSON", false)
	}
	if doc.Issuer != o.cfg.Issuer {
		return nil, fail("IssuerMismatch", fmt.Sprintf("the discovery document names issuer %q, not %q", doc.Issuer, o.cfg.Issuer), false)
	}
	if doc.JWKS == "" {
		return nil, fail("BadDiscovery", "the discovery document has no jwks_uri", false)
	}
	return &oidc.ProviderConfig{IssuerURL: doc.Issuer, JWKSURL: doc.JWKS, AuthURL: doc.AuthURL, Algorithms: doc.Algs}, nil
}

func (o *OIDC) verify(ctx context.Context, tok secret.Value) (*Identity, error) {
	p, perr := o.provider(ctx)
	if perr != nil {
		return nil, perr
	}
	v := p.Verifier(&oidc.Config{
		ClientID:             o.cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  func() time.Time { return time.Now().Add(-clockSkew) },
	})
	var idt *oidc.IDToken
	var err error
	for attempt := 1; attempt <= backoff.attempts; attempt++ {
		if attempt > 1 {
			if werr := backoff.wait(ctx, attempt-1); werr != nil {
				break
			}
		}
		idt, err = v.Verify(ctx, string(tok.Bytes()))
		// Only a failed JWKS fetch is worth another try.
		if err == nil || !strings.Contains(err.Error(), "fetching keys") {
			break
		}
	}
	if err != nil {
		return nil, o.verifyError(err, tok)
	}
	var c struct {
		Repository        flexString `json:"repository"`
		RepositoryOwner   flexString `json:"repository_owner"`
		Ref               flexString `json:"ref"`
		SHA               flexString `json:"sha"`
		Workflow          flexString `json:"workflow"`
		JobWorkflowRef    flexString `json:"job_workflow_ref"`
		RunID             flexString `json:"run_id"`
		RunAttempt        flexString `json:"run_attempt"`
		Actor             flexString `json:"actor"`
		EventName         flexString `json:"event_name"`
		Environment       flexString `json:"environment"`
		RunnerEnvironment flexString `json:"runner_environment"`
	}
	if err := idt.Claims(&c); err != nil {
		return nil, &Error{Op: "oidc verify", Code: "BadClaims", Message: "the token's claims are not the expected JSON", Hint: "check --oidc-issuer points at GitHub's issuer"}
	}
	return &Identity{
		Issuer: idt.Issuer, Subject: idt.Subject, Audience: o.cfg.Audience,
		Repository: string(c.Repository), RepositoryOwner: string(c.RepositoryOwner), Ref: string(c.Ref), SHA: string(c.SHA),
		Workflow: string(c.Workflow), JobWorkflowRef: string(c.JobWorkflowRef), RunID: string(c.RunID), RunAttempt: string(c.RunAttempt),
		Actor: string(c.Actor), EventName: string(c.EventName), Environment: string(c.Environment), RunnerEnvironment: string(c.RunnerEnvironment),
		IssuedAt: idt.IssuedAt, Expiry: idt.Expiry,
	}, nil
}

func (o *OIDC) verifyError(err error, tok secret.Value) *Error {
	e := &Error{Op: "oidc verify", Code: "InvalidToken", Message: scrub(err.Error(), tok)}
	var te *oidc.TokenExpiredError
	switch {
	case errors.As(err, &te):
		e.Code, e.Message = "ExpiredToken", "the token expired at "+te.Expiry.UTC().Format(time.RFC3339)
		e.Hint = "check the runner's clock against the issuer's"
	case strings.Contains(err.Error(), "expected audience"):
		e.Code = "AudienceMismatch"
		e.Hint = fmt.Sprintf("the runner issued the token for another audience than %q; check --audience", o.cfg.Audience)
	case strings.Contains(err.Error(), "issued by a different provider"):
		e.Code = "IssuerMismatch"
		e.Hint = fmt.Sprintf("the token's issuer is not %s; set --oidc-issuer (GHES: https://HOST/_services/token)", o.cfg.Issuer)
	case strings.Contains(err.Error(), "fetching keys"):
		e.Code, e.Retryable = "JWKSUnavailable", true
		e.Hint = "the issuer's JWKS could not be fetched; retry, and check the network/proxy"
	default:
		e.Hint = "the token's signature or format is not valid for " + o.cfg.Issuer + "; check --oidc-issuer"
	}
	return e
}

// flexString accepts a JSON string or number (GitHub sends strings; GHES
// versions and other issuers have sent numbers for run_id).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	*f = flexString(b)
	return nil
}
