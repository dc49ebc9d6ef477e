// Package stsfake emulates AWS STS AssumeRoleWithWebIdentity on loopback,
// speaking the AWS query protocol (form POST in, XML out, XML errors). It
// verifies the web identity token for real (signature, issuer, audience,
// expiry) with go-oidc against a trusted issuer, optionally checks the token's
// sub against a trust-policy pattern, and issues ASIA… credentials that a
// paired Secrets Manager emulator accepts.
package stsfake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/loopback"
)

// OpAssumeRoleWithWebIdentity is the operation name for fault rules and counters.
const OpAssumeRoleWithWebIdentity = "AssumeRoleWithWebIdentity"

// DefaultAudience is the audience AWS expects in GitHub tokens.
const DefaultAudience = "sts.amazonaws.com"

// Credentials is one issued session.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
	RoleARN, SessionName, Subject              string
}

// Server is the emulated STS. Its methods are safe for concurrent use.
type Server struct {
	// Faults injects failures into OpAssumeRoleWithWebIdentity and counts calls.
	Faults fault.Injector

	issuer string
	client *http.Client

	mu        sync.Mutex
	audience  string
	subject   string // path.Match pattern; "" trusts every sub
	issued    map[string]Credentials
	tokens    []string // sha256 hex of every web identity token received
	provider  *oidc.Provider
	ls        *loopback.Server
	lifetimes []int
}

// New returns an STS that trusts tokens from issuer.
func New(issuer string) *Server {
	return &Server{
		issuer:   strings.TrimSuffix(issuer, "/"),
		client:   &http.Client{Timeout: 10 * time.Second, Transport: userAgent{http.DefaultTransport}},
		audience: DefaultAudience,
		issued:   map[string]Credentials{},
	}
}

// Start serves a new STS trusting issuer on 127.0.0.1.
func Start(issuer string) (*Server, error) {
	s := New(issuer)
	ls, err := loopback.Start(s)
	if err != nil {
		return nil, err
	}
	s.ls = ls
	return s, nil
}

// URL is the base URL of a server made by Start ("" otherwise).
func (s *Server) URL() string { return s.ls.BaseURL() }

// Close stops a server made by Start.
func (s *Server) Close() error { return s.ls.Close() }

// SetHTTPClient sets the client used to fetch the issuer's discovery
// document and JWKS (custom roots or resolver). Call it before the first
// request.
func (s *Server) SetHTTPClient(c *http.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := c.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	cc := *c
	cc.Transport = userAgent{t}
	s.client = &cc
}

// SetAudience sets the audience the role's trust policy requires.
func (s *Server) SetAudience(aud string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audience = aud
}

// SetTrustedSubject sets the trust policy's token.actions.githubusercontent.com:sub
// condition as a path.Match pattern ("repo:org/repo:*"); "" trusts any sub.
func (s *Server) SetTrustedSubject(pattern string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subject = pattern
}

// Lookup returns the live session whose access key id is akid.
func (s *Server) Lookup(akid string) (Credentials, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.issued[akid]
	return c, ok
}

// TokenFingerprints returns the sha256 (hex) of every web identity token
// received, in order. Tests use it to show each retry carried a fresh token.
func (s *Server) TokenFingerprints() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

// Durations returns the DurationSeconds of every valid request, in order.
func (s *Server) Durations() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.lifetimes...)
}

type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

var (
	roleARNRe     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, &apiError{http.StatusMethodNotAllowed, "InvalidAction", "the query protocol needs POST"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "MalformedQueryString", "the request body is not a form"})
		return
	}
	action := r.PostForm.Get("Action")
	if action != OpAssumeRoleWithWebIdentity {
		writeError(w, &apiError{http.StatusBadRequest, "InvalidAction", "Could not find operation " + action + " for version " + r.PostForm.Get("Version")})
		return
	}
	f, hit := s.Faults.Call(action)
	if hit {
		if fault.Apply(w, r, f) {
			return
		}
		switch f.Kind {
		case fault.Error:
			status := f.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			code := f.Code
			if code == "" {
				code = "InternalFailure"
			}
			writeError(w, &apiError{status, code, f.Message})
			return
		case fault.Throttle:
			writeError(w, &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"})
			return
		case fault.Expired:
			writeError(w, &apiError{http.StatusBadRequest, "ExpiredTokenException", "Token expired: current date/time must be before the expiration date/time"})
			return
		}
	}
	out, err := s.assume(r.Context(), r.PostForm)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, "InternalFailure", "internal failure"}
		}
		writeError(w, ae)
		return
	}
	if hit && f.Kind == fault.Field {
		setField(&out.Result.Credentials, f.Field, f.Body)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", newRequestID())
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
}

func (s *Server) assume(ctx context.Context, form url.Values) (*assumeResponse, error) {
	if v := form.Get("Version"); v != "2011-06-15" {
		return nil, &apiError{http.StatusBadRequest, "InvalidAction", "unsupported version " + v}
	}
	roleARN := form.Get("RoleArn")
	m := roleARNRe.FindStringSubmatch(roleARN)
	if m == nil {
		return nil, &apiError{http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must be a role ARN"}
	}
	account, role := m[1], m[2]
	session := form.Get("RoleSessionName")
	if !sessionNameRe.MatchString(session) {
		return nil, &apiError{http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*, length 2 to 64"}
	}
	duration := 3600
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return nil, &apiError{http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '" + d + "' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"}
		}
		duration = n
	}
	token := form.Get("WebIdentityToken")
	if len(token) < 4 {
		return nil, &apiError{http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"}
	}
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	s.tokens = append(s.tokens, hex.EncodeToString(sum[:]))
	aud, subPattern := s.audience, s.subject
	s.mu.Unlock()

	sub, err := s.verify(ctx, token, aud)
	if err != nil {
		return nil, err
	}
	if subPattern != "" {
		if ok, _ := path.Match(subPattern, sub); !ok {
			return nil, &apiError{http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
		}
	}
	c := Credentials{
		AccessKeyID:     "ASIA" + randUpper(16),
		SecretAccessKey: randB64(30),
		SessionToken:    "IQoJb3JpZ2luX2Vj" + randB64(240),
		Expiration:      time.Now().Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second),
		RoleARN:         roleARN,
		SessionName:     session,
		Subject:         sub,
	}
	s.mu.Lock()
	s.issued[c.AccessKeyID] = c
	s.lifetimes = append(s.lifetimes, duration)
	s.mu.Unlock()
	issuerHost := strings.TrimPrefix(strings.TrimPrefix(s.issuer, "https://"), "http://")
	return &assumeResponse{
		Result: assumeResult{
			SubjectFromWebIdentityToken: sub,
			Audience:                    aud,
			AssumedRoleUser: assumedRoleUser{
				Arn:           "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session,
				AssumedRoleID: "AROA" + randUpper(17) + ":" + session,
			},
			Credentials: credentialsXML{
				AccessKeyID:     c.AccessKeyID,
				SecretAccessKey: c.SecretAccessKey,
				SessionToken:    c.SessionToken,
				Expiration:      c.Expiration.Format(time.RFC3339),
			},
			Provider: "arn:aws:iam::" + account + ":oidc-provider/" + issuerHost,
		},
		Metadata: responseMetadata{RequestID: newRequestID()},
	}, nil
}

// verify checks the token as AWS does for an IAM OIDC provider and returns its sub.
func (s *Server) verify(ctx context.Context, token, aud string) (string, error) {
	invalid := func(msg string) error { return &apiError{http.StatusBadRequest, "InvalidIdentityToken", msg} }
	iss, err := unverifiedIssuer(token)
	if err != nil {
		return "", invalid("The ID token provided is not a valid JWT")
	}
	if iss != s.issuer {
		return "", invalid("No OpenIDConnect provider found in your account for " + truncate(iss, 200))
	}
	p, err := s.getProvider()
	if err != nil {
		return "", &apiError{http.StatusBadRequest, "IDPCommunicationError", "Couldn't retrieve verification key from your identity provider"}
	}
	// The fake runs the verifier with the whole audience check ourselves so
	// the error says what AWS says.
	idt, err := p.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, token)
	if err != nil {
		var te *oidc.TokenExpiredError
		if errors.As(err, &te) {
			return "", &apiError{http.StatusBadRequest, "ExpiredTokenException", "Token expired: current date/time " +
				time.Now().UTC().Format(time.RFC3339) + " must be before the expiration date/time " + te.Expiry.UTC().Format(time.RFC3339)}
		}
		return "", invalid("The ID token provided is not valid")
	}
	okAud := false
	for _, a := range idt.Audience {
		okAud = okAud || a == aud
	}
	if !okAud {
		return "", invalid("Incorrect token audience")
	}
	return idt.Subject, nil
}

func (s *Server) getProvider() (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	// Background context: the provider keeps it to fetch the JWKS later.
	ctx := oidc.ClientContext(context.Background(), s.client) // s.mu is held
	p, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		return nil, err
	}
	s.provider = p
	return p, nil
}

// userAgent marks the emulator's own calls to the issuer (see
// oidcfake.VerifierUserAgentPrefix).
type userAgent struct{ next http.RoundTripper }

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "keylease-stsfake/1")
	return u.next.RoundTrip(r)
}

func unverifiedIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not a jws")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", err
	}
	return c.Iss, nil
}

type assumeResponse struct {
	XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result   assumeResult     `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type assumeResult struct {
	SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
	Audience                    string          `xml:"Audience"`
	AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials                 credentialsXML  `xml:"Credentials"`
	Provider                    string          `xml:"Provider"`
}

type assumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type credentialsXML struct {
	SessionToken    string `xml:"SessionToken"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	Expiration      string `xml:"Expiration"`
	AccessKeyID     string `xml:"AccessKeyId"`
}

// setField serves fault.Field: the credential named field ("AccessKeyId",
// "SecretAccessKey", "SessionToken", "Expiration") is set to v in the answer
// only; the credentials the emulator issued are unchanged.
func setField(c *credentialsXML, field, v string) {
	switch field {
	case "AccessKeyId":
		c.AccessKeyID = v
	case "SecretAccessKey":
		c.SecretAccessKey = v
	case "SessionToken":
		c.SessionToken = v
	case "Expiration":
		c.Expiration = v
	}
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name  `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error     errorBody `xml:"Error"`
	RequestID string    `xml:"RequestId"`
}

type errorBody struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	id := newRequestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", id)
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(errorResponse{Error: errorBody{Type: typ, Code: e.code, Message: e.message}, RequestID: id})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randUpper(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = upperAlnum[int(b[i])%len(upperAlnum)]
	}
	return string(b)
}

func randB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}
