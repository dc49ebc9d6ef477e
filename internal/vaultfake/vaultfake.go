// Package vaultfake is a loopback emulator of the part of HashiCorp Vault
// (and OpenBao) that keylease's vault:// store uses, speaking Vault's HTTP
// API so that the official client (github.com/hashicorp/vault/api) drives it
// unchanged: JWT auth login (the token verified against the OIDC issuer's
// discovery and JWKS with go-oidc, its audience and bound claims checked),
// KV v2 reads, token self-revocation and namespaces. Faults: sealed (503),
// a token policy that denies a path (403), missing secrets (404), a redirect
// to another server (307).
package vaultfake

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keylease/keylease/internal/loopback"
)

// Role is a JWT auth role: who may log in and what its token may read.
type Role struct {
	Audience    string            // bound_audiences
	BoundClaims map[string]string // claim → required value
	Paths       []string          // "MOUNT/PATH" prefixes the token may read
}

type token struct {
	role    string
	revoked bool
}

// Server is a running emulator.
type Server struct {
	issuer, mount, namespace string
	ls                       *loopback.Server

	mu        sync.Mutex
	roles     map[string]Role
	kv        map[string][]map[string]any // "MOUNT/PATH" → versions
	tokens    map[string]*token
	sealed    bool
	redir     string        // RedirectTo's base URL; "" serves
	reqs      int           // requests received
	tokReqs   int           // of which carried X-Vault-Token
	wrapped   int           // of which asked for response wrapping
	slowLogin time.Duration // SetLoginDelay
	logins    int
	revokes   int
	seen      []string // every JWT presented and token issued, for leak checks
}

// Start serves an emulator whose JWT auth method (mounted at authMount)
// trusts issuer; namespace "" accepts requests without X-Vault-Namespace.
func Start(issuer, authMount, namespace string) (*Server, error) {
	s := newServer(issuer, authMount, namespace)
	ls, err := loopback.Start(s)
	if err != nil {
		return nil, err
	}
	s.ls = ls
	return s, nil
}

// StartTLS is Start over HTTPS with a fresh self-signed certificate for
// 127.0.0.1, returned as PEM (what VAULT_CACERT names).
func StartTLS(issuer, authMount, namespace string) (*Server, []byte, error) {
	ln, err := loopback.Listen()
	if err != nil {
		return nil, nil, err
	}
	cert, caPEM, err := selfSigned()
	if err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	s := newServer(issuer, authMount, namespace)
	s.ls = loopback.Serve(ln, s, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return s, caPEM, nil
}

func newServer(issuer, authMount, namespace string) *Server {
	return &Server{issuer: issuer, mount: authMount, namespace: namespace,
		roles: map[string]Role{}, kv: map[string][]map[string]any{}, tokens: map[string]*token{}}
}

// selfSigned is a one-hour certificate for 127.0.0.1 that is its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "vaultfake"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// URL is VAULT_ADDR.
func (s *Server) URL() string { return s.ls.BaseURL() }

// Close stops the server.
func (s *Server) Close() error { return s.ls.Close() }

// AddRole adds or replaces a JWT auth role.
func (s *Server) AddRole(name string, r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[name] = r
}

// Put writes a new version of the KV v2 secret at mount/path.
func (s *Server) Put(mount, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := mount + "/" + path
	s.kv[k] = append(s.kv[k], data)
}

// IssueToken makes a token of role without a login, as `vault login` gives
// a user locally.
func (s *Server) IssueToken(role string) string {
	tok := "hvs." + randHex(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &token{role: role}
	s.seen = append(s.seen, tok)
	return tok
}

// SetSealed makes every request answer 503, as a sealed Vault does.
func (s *Server) SetSealed(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealed = v
}

// RedirectTo makes every request answer 307 with the same path at base, as
// a standby node or a proxy pointing elsewhere would; "" serves again.
func (s *Server) RedirectTo(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redir = base
}

// Requests are how many requests reached the server and how many of them
// carried an X-Vault-Token header.
func (s *Server) Requests() (all, withToken int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs, s.tokReqs
}

// SetLoginDelay delays each login's answer by d after its token is issued,
// as a slow network does: a client that gives up meanwhile leaves the token
// live.
func (s *Server) SetLoginDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slowLogin = d
}

// Wrapped is how many requests asked for response wrapping
// (X-Vault-Wrap-TTL), which the emulator does not serve.
func (s *Server) Wrapped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wrapped
}

// Secrets are every JWT presented to login and every token issued, so a
// test can check that none of them leaked.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// Stats are the logins made, the tokens revoked and the tokens still live.
func (s *Server) Stats() (logins, revoked, live int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if !t.revoked {
			live++
		}
	}
	return s.logins, s.revokes, live
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	loopback.WriteJSON(w, "application/json", status, v)
}

func errorsBody(msgs ...string) map[string]any {
	if msgs == nil {
		msgs = []string{}
	}
	return map[string]any{"errors": msgs}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sealed, redir := s.sealed, s.redir
	s.reqs++
	if r.Header.Get("X-Vault-Token") != "" {
		s.tokReqs++
	}
	if r.Header.Get("X-Vault-Wrap-TTL") != "" {
		s.wrapped++
	}
	s.mu.Unlock()
	if redir != "" {
		w.Header().Set("Location", redir+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	if sealed {
		writeJSON(w, http.StatusServiceUnavailable, errorsBody("Vault is sealed"))
		return
	}
	if s.namespace != "" && strings.Trim(r.Header.Get("X-Vault-Namespace"), "/") != s.namespace {
		writeJSON(w, http.StatusForbidden, errorsBody("permission denied"))
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, errorsBody())
	case p == "auth/"+s.mount+"/login" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		s.login(w, r)
	case p == "auth/token/revoke-self" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		s.revokeSelf(w, r)
	case r.Method == http.MethodGet && strings.Contains(p, "/data/"):
		s.read(w, r, p)
	default:
		writeJSON(w, http.StatusNotFound, errorsBody("unsupported path"))
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ Role, JWT string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody("failed to parse JSON input"))
		return
	}
	s.mu.Lock()
	role, ok := s.roles[body.Role]
	if body.JWT != "" {
		s.seen = append(s.seen, body.JWT)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusBadRequest, errorsBody(`role "`+body.Role+`" could not be found`))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	prov, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorsBody("error checking oidc discovery URL"))
		return
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: role.Audience}).Verify(ctx, body.JWT)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody("error validating token: invalid audience, issuer, signature or expiry"))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody("error reading claims"))
		return
	}
	for k, want := range role.BoundClaims {
		if got, _ := claims[k].(string); got != want {
			writeJSON(w, http.StatusBadRequest, errorsBody("error validating claims: claim \""+k+"\" does not match any associated bound claim values"))
			return
		}
	}
	tok := "hvs." + randHex(24)
	s.mu.Lock()
	s.tokens[tok] = &token{role: body.Role}
	s.seen = append(s.seen, tok)
	s.logins++
	delay := s.slowLogin
	s.mu.Unlock()
	time.Sleep(delay)
	writeJSON(w, http.StatusOK, map[string]any{"request_id": randHex(8), "auth": map[string]any{
		"client_token": tok, "accessor": randHex(12), "policies": []string{"default", body.Role},
		"token_policies": []string{"default", body.Role}, "lease_duration": 900, "renewable": true,
		"entity_id": randHex(8), "token_type": "service", "orphan": true,
	}})
}

func (s *Server) tokenOf(r *http.Request) (*token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[r.Header.Get("X-Vault-Token")]
	if !ok || t.revoked {
		return nil, false
	}
	return t, true
}

func (s *Server) revokeSelf(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tokenOf(r)
	if !ok {
		writeJSON(w, http.StatusForbidden, errorsBody("permission denied"))
		return
	}
	s.mu.Lock()
	t.revoked = true
	s.revokes++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, p string) {
	t, ok := s.tokenOf(r)
	if !ok {
		writeJSON(w, http.StatusForbidden, errorsBody("permission denied"))
		return
	}
	mount, path, _ := strings.Cut(p, "/data/")
	key := mount + "/" + path
	s.mu.Lock()
	role := s.roles[t.role]
	versions := s.kv[key]
	s.mu.Unlock()
	allowed := false
	for _, pre := range role.Paths {
		if key == pre || strings.HasPrefix(key, strings.TrimSuffix(pre, "/")+"/") {
			allowed = true
		}
	}
	if !allowed {
		writeJSON(w, http.StatusForbidden, errorsBody("1 error occurred:\n\t* permission denied\n\n"))
		return
	}
	if len(versions) == 0 {
		writeJSON(w, http.StatusNotFound, errorsBody())
		return
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, map[string]any{"request_id": randHex(8), "lease_duration": 0, "renewable": false,
		"data": map[string]any{"data": versions[len(versions)-1], "metadata": map[string]any{
			"created_time": now, "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": len(versions)}}})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
