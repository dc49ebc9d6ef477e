// Package emulators starts the GitHub OIDC, STS and Secrets Manager emulators
// together on loopback, wired to trust each other, for tests and for
// `keylease demo`.
package emulators

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/keylease/keylease/internal/loopback"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
)

// Defaults of a Stack.
const (
	DefaultRegion  = "us-east-1"
	DefaultRoleARN = "arn:aws:iam::" + smfake.DefaultAccount + ":role/keylease-ci"
)

// Stack is the three emulators running together. STS trusts the OIDC
// emulator as its identity provider; Secrets Manager accepts the sessions STS
// issues.
type Stack struct {
	OIDC *oidcfake.Server
	STS  *stsfake.Server
	SM   *smfake.Server

	Region  string // the region Env sets
	RoleARN string // a role ARN STS accepts

	aws *loopback.Server // STS and Secrets Manager behind one URL
}

// StartAll starts the three emulators on 127.0.0.1.
func StartAll(_ context.Context) (*Stack, error) {
	o, err := oidcfake.Start()
	if err != nil {
		return nil, err
	}
	st, err := stsfake.Start(o.Issuer())
	if err != nil {
		_ = o.Close()
		return nil, err
	}
	sm, err := smfake.Start()
	if err != nil {
		_ = o.Close()
		_ = st.Close()
		return nil, err
	}
	sm.SetKeyLookup(func(akid string) (smfake.Key, bool) {
		c, ok := st.Lookup(akid)
		return smfake.Key{SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expires: c.Expiration}, ok
	})
	// One URL for both services, as AWS_ENDPOINT_URL (the SDK's global
	// override) needs: JSON 1.1 calls carry X-Amz-Target, query calls don't.
	both, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "" {
			sm.ServeHTTP(w, r)
			return
		}
		st.ServeHTTP(w, r)
	}))
	if err != nil {
		_ = errors.Join(o.Close(), st.Close(), sm.Close())
		return nil, err
	}
	return &Stack{OIDC: o, STS: st, SM: sm, Region: DefaultRegion, RoleARN: DefaultRoleARN, aws: both}, nil
}

// AWSURL serves both STS and Secrets Manager (for AWS_ENDPOINT_URL).
func (s *Stack) AWSURL() string { return s.aws.URL }

// Close stops the three emulators.
func (s *Stack) Close() error {
	return errors.Join(s.aws.Close(), s.SM.Close(), s.STS.Close(), s.OIDC.Close())
}

// Env returns, as KEY=VALUE, what points a job at the stack: the runner's
// OIDC variables, the SDK's service endpoints and region, keylease's issuer
// override, and no instance metadata probes.
func (s *Stack) Env() []string {
	return append(s.OIDC.Env(),
		"AWS_ENDPOINT_URL_STS="+s.STS.URL(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+s.SM.URL(),
		"AWS_REGION="+s.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"KEYLEASE_OIDC_ISSUER="+s.OIDC.Issuer(),
		"KEYLEASE_ROLE_ARN="+s.RoleARN,
	)
}

// Seed stores a string secret under name in the stack's region (AWSCURRENT)
// and returns its ARN.
func (s *Stack) Seed(name, value string) string {
	arn, _ := s.SM.Put(s.Region, name, smfake.Value{String: value})
	return arn
}

// StaticKey makes a long-lived access key that Secrets Manager accepts (what
// a local profile would hold) and returns its id and secret.
func (s *Stack) StaticKey() (accessKeyID, secretAccessKey string) {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	id := make([]byte, 10)
	_, _ = rand.Read(id)
	accessKeyID = "AKIA" + base32Upper(id)
	secretAccessKey = base64.StdEncoding.EncodeToString(b)
	s.SM.AddStaticKey(accessKeyID, secretAccessKey)
	return accessKeyID, secretAccessKey
}

func base32Upper(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	out := make([]byte, 16)
	for i := range out {
		out[i] = alphabet[int(b[i%len(b)]+byte(i*7))%32]
	}
	return string(out)
}
