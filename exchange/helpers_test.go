package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/secret"
)

// assertNoSecret fails when text holds any form of any value (see
// internal/leakcheck: every form keylease masks, and body fragments).
func assertNoSecret(t testing.TB, text string, values ...string) {
	t.Helper()
	leakcheck.Assert(t, "the text", []byte(text), values...)
}

// errText renders err every way a caller might print it.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v\n%+v\n%s\n%q\n", err, err, err, err)
	var e *exchange.Error
	if errors.As(err, &e) {
		fmt.Fprintf(&b, "%#v\n", *e)
	}
	return b.String()
}

// lease is the state of one test's stack plus what was handed out.
type lease struct {
	t     *testing.T
	stack *emulators.Stack

	mu     sync.Mutex
	tokens []string // every OIDC token given to OnToken

	httpTimeout time.Duration // for the SDK clients; 0: none
}

func newLease(t *testing.T) *lease {
	t.Helper()
	st, _ := testkit.Stack(t)
	return &lease{t: t, stack: st}
}

func (l *lease) oidcConfig() exchange.OIDCConfig {
	return exchange.OIDCConfig{
		RequestURL:   l.stack.OIDC.RequestURL(),
		RequestToken: secret.FromString(l.stack.OIDC.RequestToken()),
		Issuer:       l.stack.OIDC.Issuer(),
		OnToken: func(v secret.Value) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.tokens = append(l.tokens, string(v.Bytes()))
		},
	}
}

func (l *lease) oidc() *exchange.OIDC { return exchange.NewOIDC(l.oidcConfig()) }

// awsConfig points the real SDK clients at the stack without the process
// environment, so tests using it can run in parallel.
func (l *lease) awsConfig() aws.Config {
	return aws.Config{
		Region:       l.stack.Region,
		Credentials:  aws.AnonymousCredentials{},
		BaseEndpoint: aws.String(l.stack.AWSURL()),
		HTTPClient:   awshttp.NewBuildableClient().WithTimeout(l.httpTimeout),
	}
}

func (l *lease) assume(ctx context.Context) (*exchange.Session, error) {
	return exchange.AssumeRole(ctx, l.awsConfig(), l.oidc(), l.stack.RoleARN, exchange.SessionName("6100000001", "1"))
}

// secrets is every secret the test has seen: tokens, session keys, the
// request token, plus extra values.
func (l *lease) secrets(s *exchange.Session, extra ...string) []string {
	l.mu.Lock()
	out := append([]string{l.stack.OIDC.RequestToken()}, l.tokens...)
	l.mu.Unlock()
	if s != nil {
		out = append(out, string(s.SecretAccessKey.Bytes()), string(s.SessionToken.Bytes()))
	}
	return append(out, extra...)
}

func (l *lease) tokenCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tokens)
}

func secretOf(s string) secret.Value { return secret.FromString(s) }
