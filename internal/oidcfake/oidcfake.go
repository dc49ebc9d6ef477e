// Package oidcfake emulates the GitHub Actions OIDC issuer on loopback: the
// discovery document, the JWKS, and the job's token endpoint (bearer request
// token, audience from the query). It signs real RS256 JWTs with a fresh RSA
// key, and its issuer URL is its own URL.
package oidcfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/loopback"
)

// Operation names for fault rules and counters.
const (
	OpDiscovery = "discovery"
	OpJWKS      = "jwks"
	OpToken     = "token"
)

// VerifierUserAgentPrefix marks the emulated STS's own discovery and JWKS
// fetches; they are counted as "sts:"+OpDiscovery and "sts:"+OpJWKS so that
// the plain counters show only the client's fetches.
const VerifierUserAgentPrefix = "keylease-stsfake"

// TokenPath is the path of the token endpoint; RequestURL adds a query, as
// GitHub's ACTIONS_ID_TOKEN_REQUEST_URL has one.
const TokenPath = "/_apis/distributedtask/idtoken" //nolint:gosec // a URL path, not a credential

// Server is the emulated issuer. Configure it before serving calls or from
// tests at any time: every method is safe for concurrent use.
type Server struct {
	// Faults injects failures into OpDiscovery, OpJWKS and OpToken and counts
	// their calls.
	Faults fault.Injector

	issuer       string
	requestToken string
	key          *rsa.PrivateKey
	kid          string
	signer       jose.Signer

	mu     sync.Mutex
	claims map[string]any
	ttl    time.Duration

	ls *loopback.Server
}

// New returns an issuer whose URL is issuer (the URL it will be served at).
// Use Start to serve one on loopback.
func New(issuer string) (*Server, error) {
	s := &Server{}
	if err := s.init(issuer); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) init(issuer string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	kid := randHex(8)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return fmt.Errorf("create signer: %w", err)
	}
	s.issuer = strings.TrimSuffix(issuer, "/")
	s.requestToken = "ghs-request-" + randHex(20)
	s.key, s.kid, s.signer = key, kid, signer
	s.claims = DefaultClaims()
	s.ttl = 5 * time.Minute
	return nil
}

// Start serves a new issuer on 127.0.0.1.
func Start() (*Server, error) {
	s := &Server{}
	ready := make(chan struct{})
	ls, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-ready // the issuer URL is known only once the port is
		s.ServeHTTP(w, r)
	}))
	if err != nil {
		return nil, err
	}
	if err := s.init(ls.URL); err != nil {
		close(ready)
		_ = ls.Close()
		return nil, err
	}
	s.ls = ls
	close(ready)
	return s, nil
}

// Close stops a server made by Start.
func (s *Server) Close() error { return s.ls.Close() }

// Issuer is the issuer URL (also the server's base URL).
func (s *Server) Issuer() string { return s.issuer }

// RequestURL is what the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL.
func (s *Server) RequestURL() string { return s.issuer + TokenPath + "?api-version=2.0" }

// RequestToken is what the runner puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (s *Server) RequestToken() string { return s.requestToken }

// Env returns the two runner variables that enable OIDC, as KEY=VALUE.
func (s *Server) Env() []string {
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.RequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.requestToken,
	}
}

// DefaultClaims are the claims of a push to main of keylease/demo, shaped as
// GitHub's (every value a string).
func DefaultClaims() map[string]any {
	return map[string]any{
		"sub":                   "repo:keylease/demo:ref:refs/heads/main",
		"repository":            "keylease/demo",
		"repository_id":         "700000001",
		"repository_owner":      "keylease",
		"repository_owner_id":   "90000001",
		"repository_visibility": "private",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"sha":                   "3f786850e387550fdab836ed7e6dc881de23001b",
		"workflow":              "ci",
		"workflow_ref":          "keylease/demo/.github/workflows/ci.yml@refs/heads/main",
		"job_workflow_ref":      "keylease/demo/.github/workflows/ci.yml@refs/heads/main",
		"run_id":                "6100000001",
		"run_number":            "42",
		"run_attempt":           "1",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"event_name":            "push",
		"runner_environment":    "github-hosted",
	}
}

// SetClaims merges c into the claims of every token minted from now on (a nil
// value deletes a claim). iss, aud, iat, nbf, exp and jti are always set by
// the server.
func (s *Server) SetClaims(c map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range c {
		if v == nil {
			delete(s.claims, k)
			continue
		}
		s.claims[k] = v
	}
}

// SetTTL sets the lifetime of minted tokens (default 5 minutes, as GitHub's).
func (s *Server) SetTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// Mint signs a token for audience aud, valid from now for the configured TTL
// (or already expired when expired is true).
func (s *Server) Mint(aud string, expired bool) (string, error) {
	s.mu.Lock()
	claims := maps.Clone(s.claims)
	ttl := s.ttl
	s.mu.Unlock()
	now := time.Now()
	if expired {
		now = now.Add(-ttl - time.Minute)
	}
	claims["iss"] = s.issuer
	claims["aud"] = aud
	claims["iat"] = jwt.NewNumericDate(now)
	claims["nbf"] = jwt.NewNumericDate(now.Add(-5 * time.Second))
	claims["exp"] = jwt.NewNumericDate(now.Add(ttl))
	claims["jti"] = randHex(16)
	tok, err := jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var op string
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		op = OpDiscovery
	case "/.well-known/jwks":
		op = OpJWKS
	case TokenPath:
		op = OpToken
	default:
		http.NotFound(w, r)
		return
	}
	count := op
	if strings.HasPrefix(r.Header.Get("User-Agent"), VerifierUserAgentPrefix) {
		count = "sts:" + op
	}
	f, hit := s.Faults.Call(count)
	if hit {
		if fault.Apply(w, r, f) {
			return
		}
		if f.Kind == fault.Throttle {
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"message": "rate limited"})
			return
		}
		if f.Kind == fault.Error {
			status := f.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			writeJSON(w, status, map[string]string{"message": f.Message})
			return
		}
	}
	switch op {
	case OpDiscovery:
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                s.issuer,
			"jwks_uri":                              s.issuer + "/.well-known/jwks",
			"subject_types_supported":               []string{"public", "pairwise"},
			"response_types_supported":              []string{"id_token"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner", "run_id", "run_attempt", "actor", "workflow", "job_workflow_ref", "event_name", "environment", "runner_environment", "sha"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid"},
		})
	case OpJWKS:
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.RS256), Use: "sig",
		}}})
	case OpToken:
		s.serveToken(w, r, hit && f.Kind == fault.Expired)
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, expired bool) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "method not allowed"})
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.requestToken)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		s.mu.Lock()
		owner, _ := s.claims["repository_owner"].(string)
		s.mu.Unlock()
		aud = "https://github.com/" + owner // GitHub's default audience
	}
	tok, err := s.Mint(aud, expired)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "signing failed"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": 2000, "value": tok})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	loopback.WriteJSON(w, "application/json; charset=utf-8", status, v)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
