package smfake

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Key is a credential the emulator accepts: a static key (no session token)
// or a session its paired STS issued.
type Key struct {
	SecretAccessKey string
	SessionToken    string    // "" for a static key
	Expires         time.Time // zero for a static key
}

// KeyLookup finds the key of an access key id (an STS emulator's sessions).
type KeyLookup func(accessKeyID string) (Key, bool)

type sigv4Auth struct {
	akid, date, region, service string
	signedHeaders               []string
	signature                   string
}

// parseAuthorization splits
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (sigv4Auth, bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigv4Auth{}, false
	}
	var a sigv4Auth
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sigv4Auth{}, false
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return sigv4Auth{}, false
			}
			a.akid, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.akid == "" || a.signature == "" || len(a.signedHeaders) == 0 {
		return sigv4Auth{}, false
	}
	return a, true
}

// authenticate verifies the request's SigV4 signature by recomputing it with
// the SDK's own signer over the headers the client signed. It returns the
// region of the credential scope and the request body.
func (s *Server) authenticate(r *http.Request) (region string, body []byte, aerr *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return "", nil, &apiError{http.StatusBadRequest, "InvalidRequestException", "could not read the request body"}
	}
	a, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return "", nil, &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	if a.service != "secretsmanager" {
		return "", nil, &apiError{http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to correct service: 'secretsmanager'."}
	}
	key, ok := s.lookupKey(a.akid)
	if !ok {
		return "", nil, &apiError{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if key.SessionToken != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(key.SessionToken)) != 1 {
		return "", nil, &apiError{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if !key.Expires.IsZero() && time.Now().After(key.Expires) {
		return "", nil, &apiError{http.StatusBadRequest, "ExpiredTokenException", "The security token included in the request is expired"}
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), a.date) {
		return "", nil, &apiError{http.StatusBadRequest, "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope"}
	}
	if d := time.Since(signedAt); d > 15*time.Minute || d < -15*time.Minute {
		return "", nil, &apiError{http.StatusBadRequest, "InvalidSignatureException", "Signature expired: the request time is more than 15 minutes away from the server time."}
	}

	// Rebuild the request from the signed headers only, then sign it again.
	re, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil) //nolint:gosec // only signed, never sent
	if err != nil {
		return "", nil, &apiError{http.StatusBadRequest, "InvalidSignatureException", "malformed request"}
	}
	re.Host = r.Host
	re.ContentLength = int64(len(body))
	for _, h := range a.signedHeaders {
		switch h {
		case "host", "content-length":
			continue
		}
		for _, v := range r.Header.Values(h) {
			re.Header.Add(h, v)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: a.akid, SecretAccessKey: key.SecretAccessKey, SessionToken: key.SessionToken}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, re, hex.EncodeToString(sum[:]), a.service, a.region, signedAt); err != nil {
		return "", nil, &apiError{http.StatusBadRequest, "InvalidSignatureException", "could not compute the signature"}
	}
	want, ok := parseAuthorization(re.Header.Get("Authorization"))
	if !ok || strings.Join(want.signedHeaders, ";") != strings.Join(a.signedHeaders, ";") ||
		subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 {
		return "", nil, &apiError{http.StatusBadRequest, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return a.region, bytes.Clone(body), nil
}

func (s *Server) lookupKey(akid string) (Key, bool) {
	s.mu.Lock()
	k, ok := s.static[akid]
	lookup := s.lookup
	s.mu.Unlock()
	if ok {
		return k, true
	}
	if lookup != nil {
		return lookup(akid)
	}
	return Key{}, false
}
