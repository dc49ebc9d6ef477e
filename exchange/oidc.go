package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	cfg                    OIDCConfig
	token, discovery, jwks *http.Client
	watch                  *jwksWatch
}

// NewOIDC returns a token source. The issuer's discovery document and JWKS
// are fetched on first use and cached for the life of the process. Every
// call is bounded (body size, time per attempt); the token request refuses
// redirects.
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
	o := &OIDC{cfg: cfg, token: bound(cfg.HTTPClient, oidcTokenLimits), discovery: bound(cfg.HTTPClient, discoveryLimits)}
	j := bound(cfg.HTTPClient, jwksLimits)
	o.watch = &jwksWatch{next: j.Transport}
	j.Transport = o.watch
	o.jwks = j
	return o
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

const opToken = "oidc token"

// request gets a token from the runner, retrying 5xx, 429 and network
// failures with jittered backoff.
func (o *OIDC) request(ctx context.Context) (secret.Value, error) {
	u, err := tokenURL(o.cfg.RequestURL, o.cfg.Audience)
	if err != nil {
		return secret.Value{}, &Error{Op: opToken, Code: "BadRequestURL", Message: EnvRequestURL + " is not a URL", Hint: "the runner sets it; do not override it"}
	}
	var tok secret.Value
	if e := retryLoop(ctx, StageOIDCToken, opToken, func() *Error {
		var e *Error
		tok, e = o.requestOnce(ctx, u)
		return e
	}); e != nil {
		return secret.Value{}, e
	}
	return tok, nil
}

// httpFailure is the *Error for a failed call or body read of a plain HTTP
// client: the end of ctx names the stage; the rest is a transport failure.
func httpFailure(ctx context.Context, stage, op string, err error, hint string) *Error {
	if ctx.Err() != nil {
		return ctxError(ctx, stage, op, "")
	}
	e := transportError(op, "", err)
	if e == nil {
		e = &Error{Op: op, Code: "NetworkError", Message: netReason(err), Retryable: true}
	}
	e.Hint = hint
	return e
}

func (o *OIDC) requestOnce(ctx context.Context, u string) (secret.Value, *Error) {
	const netHint = "check the runner's network and HTTPS_PROXY/NO_PROXY"
	fail := func(code, msg, hint string, retry bool) *Error {
		return &Error{Op: opToken, Code: code, Message: msg, Hint: hint, Retryable: retry}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return secret.Value{}, fail("BadRequestURL", EnvRequestURL+" is not a usable URL", "the runner sets it; do not override it", false)
	}
	req.Header.Set("Authorization", "Bearer "+string(o.cfg.RequestToken.Bytes()))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "keylease")
	resp, err := o.token.Do(req)
	if err != nil {
		return secret.Value{}, httpFailure(ctx, StageOIDCToken, opToken, err, netHint)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body) // bounded by oidcTokenLimits
	defer clear(body)
	if err != nil {
		return secret.Value{}, httpFailure(ctx, StageOIDCToken, opToken, err, netHint)
	}
	status := "HTTP" + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return secret.Value{}, fail(status, "the token endpoint failed", "retry the job; GitHub may be degraded", true)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return secret.Value{}, fail(status, "the runner refused the token request",
			"the job's "+EnvRequestToken+" is not valid for this request; run keylease in the job step itself and keep `permissions: id-token: write`", false)
	case resp.StatusCode != http.StatusOK:
		return secret.Value{}, fail(status, "the token endpoint answered with an unexpected status", "check "+EnvRequestURL, false)
	}
	var out struct {
		Value string `json:"value"`
	}
	switch err := json.Unmarshal(body, &out); {
	case err != nil:
		return secret.Value{}, fail("BadTokenResponse", "the token endpoint's answer is not JSON (HTML or truncated; a proxy can cause this)", "check "+EnvRequestURL+" and HTTPS_PROXY/NO_PROXY; retry the job", false)
	case out.Value == "":
		return secret.Value{}, fail("BadTokenResponse", "the token endpoint answered without a token (no \"value\" in its JSON)", "retry the job; GitHub may be degraded", false)
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

// cachedProvider is a go-oidc provider with the watch on its JWKS fetches.
type cachedProvider struct {
	p     *oidc.Provider
	watch *jwksWatch
}

// providers caches one go-oidc provider per issuer for the process, so the
// discovery document and JWKS are fetched once.
var providers struct {
	mu sync.Mutex
	m  map[string]cachedProvider
}

const opDiscovery = "oidc discovery"

func (o *OIDC) provider(ctx context.Context) (cachedProvider, *Error) {
	providers.mu.Lock()
	defer providers.mu.Unlock()
	if p, ok := providers.m[o.cfg.Issuer]; ok {
		return p, nil
	}
	var pc *oidc.ProviderConfig
	if e := retryLoop(ctx, StageOIDCDiscovery, opDiscovery, func() *Error {
		var e *Error
		pc, e = o.discover(ctx)
		return e
	}); e != nil {
		return cachedProvider{}, e
	}
	// The provider keeps this context to fetch the JWKS later: it must
	// outlive the call, so it is not ctx. Every fetch is bounded by jwksLimits.
	cp := cachedProvider{p: pc.NewProvider(oidc.ClientContext(context.Background(), o.jwks)), watch: o.watch}
	if providers.m == nil {
		providers.m = map[string]cachedProvider{}
	}
	providers.m[o.cfg.Issuer] = cp
	return cp, nil
}

// discover fetches <issuer>/.well-known/openid-configuration.
func (o *OIDC) discover(ctx context.Context) (*oidc.ProviderConfig, *Error) {
	hint := "check --oidc-issuer (GHES: https://HOST/_services/token) and the network/proxy to " + o.cfg.Issuer
	fail := func(code, msg string, retry bool) *Error {
		return &Error{Op: opDiscovery, Code: code, Message: msg, Retryable: retry, Hint: hint}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.cfg.Issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fail("BadIssuer", "the issuer is not a URL", false)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.discovery.Do(req)
	if err != nil {
		return nil, httpFailure(ctx, StageOIDCDiscovery, opDiscovery, err, hint)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body) // bounded by discoveryLimits
	if err != nil {
		return nil, httpFailure(ctx, StageOIDCDiscovery, opDiscovery, err, hint)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fail("HTTP"+strconv.Itoa(resp.StatusCode), "the discovery document could not be fetched", resp.StatusCode >= 500 || resp.StatusCode == 429)
	}
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKS    string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		AuthURL string   `json:"authorization_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fail("BadDiscovery", "the discovery document is not JSON (HTML or truncated; a proxy or a wrong issuer URL can cause this)", false)
	}
	switch {
	case doc.Issuer == "":
		return nil, fail("BadDiscovery", "the discovery document names no issuer (an empty document)", false)
	case doc.Issuer != o.cfg.Issuer:
		return nil, fail("IssuerMismatch", "the discovery document names another issuer than "+strconv.Quote(o.cfg.Issuer), false)
	case doc.JWKS == "":
		return nil, fail("BadDiscovery", "the discovery document has no jwks_uri", false)
	}
	return &oidc.ProviderConfig{IssuerURL: doc.Issuer, JWKSURL: doc.JWKS, AuthURL: doc.AuthURL, Algorithms: doc.Algs}, nil
}

const opVerify = "oidc verify"

func (o *OIDC) verify(ctx context.Context, tok secret.Value) (*Identity, error) {
	cp, perr := o.provider(ctx)
	if perr != nil {
		return nil, perr
	}
	// Issuer and audience are checked below, by type, after the signature:
	// go-oidc reports them only as text.
	v := cp.p.Verifier(&oidc.Config{
		SkipClientIDCheck:    true,
		SkipIssuerCheck:      true,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  func() time.Time { return time.Now().Add(-clockSkew) },
	})
	var idt *oidc.IDToken
	if e := retryLoop(ctx, StageJWKS, opVerify, func() *Error {
		n0 := cp.watch.state().n
		var err error
		idt, err = v.Verify(ctx, string(tok.Bytes()))
		if err == nil {
			return nil
		}
		return o.verifyError(ctx, err, cp.watch, n0)
	}); e != nil {
		return nil, e
	}
	if idt.Issuer != o.cfg.Issuer {
		return nil, &Error{Op: opVerify, Code: "IssuerMismatch", Message: "the token was issued by another issuer",
			Hint: fmt.Sprintf("the token's issuer is not %s; set --oidc-issuer (GHES: https://HOST/_services/token)", o.cfg.Issuer)}
	}
	if !slices.Contains(idt.Audience, o.cfg.Audience) {
		return nil, &Error{Op: opVerify, Code: "AudienceMismatch", Message: "the token is not for audience " + strconv.Quote(o.cfg.Audience),
			Hint: fmt.Sprintf("the runner issued the token for another audience than %q; check --audience", o.cfg.Audience)}
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
		return nil, &Error{Op: opVerify, Code: "BadClaims", Message: "the token's claims are not the expected JSON", Hint: "check --oidc-issuer points at GitHub's issuer"}
	}
	return &Identity{
		Issuer: idt.Issuer, Subject: idt.Subject, Audience: o.cfg.Audience,
		Repository: string(c.Repository), RepositoryOwner: string(c.RepositoryOwner), Ref: string(c.Ref), SHA: string(c.SHA),
		Workflow: string(c.Workflow), JobWorkflowRef: string(c.JobWorkflowRef), RunID: string(c.RunID), RunAttempt: string(c.RunAttempt),
		Actor: string(c.Actor), EventName: string(c.EventName), Environment: string(c.Environment), RunnerEnvironment: string(c.RunnerEnvironment),
		IssuedAt: idt.IssuedAt, Expiry: idt.Expiry,
	}, nil
}

// verifyError classifies a failed verification by type and by what the JWKS
// watch saw, never by go-oidc's text (which can quote the key set's body).
func (o *OIDC) verifyError(ctx context.Context, err error, w *jwksWatch, n0 int) *Error {
	if ctx.Err() != nil {
		return ctxError(ctx, StageJWKS, opVerify, "")
	}
	jwksHint := "the issuer's JWKS could not be fetched; retry, and check the network/proxy to " + o.cfg.Issuer
	var te *oidc.TokenExpiredError
	if errors.As(err, &te) {
		return &Error{Op: opVerify, Code: "ExpiredToken", Message: "the token expired at " + te.Expiry.UTC().Format(time.RFC3339),
			Hint: "check the runner's clock against the issuer's"}
	}
	if st := w.state(); st.n > n0 {
		werr, code := st.err, st.code
		switch {
		case werr != nil:
			e := transportError(opVerify, "", werr)
			if e == nil {
				e = &Error{Op: opVerify, Code: "NetworkError", Message: netReason(werr), Retryable: true}
			}
			e.Code, e.Hint = "JWKSUnavailable", jwksHint
			return e
		case code != http.StatusOK:
			return &Error{Op: opVerify, Code: "JWKSUnavailable", Message: "the issuer's JWKS answered HTTP " + strconv.Itoa(code),
				Retryable: code >= 500 || code == http.StatusTooManyRequests, Hint: jwksHint}
		}
	}
	return &Error{Op: opVerify, Code: "InvalidToken", Message: "the token is malformed, or its signature is not valid for the issuer's published keys (or the key set is malformed)",
		Hint: "the token's signature or format is not valid for " + o.cfg.Issuer + "; check --oidc-issuer"}
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
