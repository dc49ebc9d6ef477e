package exchange_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/smfake"
)

// TestMinValidityIsAParameter: a session valid for 900 s is refused when the
// caller needs more, with the typed error, before anything is fetched.
func TestMinValidityIsAParameter(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	_, err := exchange.AssumeRoleFor(context.Background(), l.awsConfig(), l.oidc(), l.stack.RoleARN, "min", 20*time.Minute)
	var ee *exchange.ExpiredSessionError
	if !errors.As(err, &ee) || ee.MinValid != 20*time.Minute || ee.Expires.IsZero() {
		t.Fatalf("err = %v; want an ExpiredSessionError for a 20m minimum", err)
	}
	if !strings.Contains(err.Error(), "STS returned credentials that expire at") {
		t.Errorf("err = %q; want it to say when the credentials expire", err)
	}
	assertNoSecret(t, errText(err), l.secrets(nil)...)
	if _, err := exchange.AssumeRoleFor(context.Background(), l.awsConfig(), l.oidc(), l.stack.RoleARN, "min", time.Minute); err != nil {
		t.Fatalf("a 1m minimum: %v; want the 900 s session accepted", err)
	}
}

// TestUnusableValueIsTyped: lease can tell a value that cannot be an
// environment variable (exit 3) from other fetch errors.
func TestUnusableValueIsTyped(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	l.stack.SM.Put(l.stack.Region, "kv/long", smfake.Value{String: "sk-short-enough-value"})
	l.stack.SM.Faults.Add(fault.Rule{Op: smfake.OpGetSecretValue, Kind: fault.Field, Field: "SecretString", Body: strings.Repeat("v", exchange.MaxValueBytes+1)})
	sess, err := l.assume(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = exchange.NewFetcher(sess.Config(l.awsConfig())).Fetch(context.Background(), []exchange.Request{{Label: "kv://long", SecretID: "kv/long"}})
	var ue *exchange.UnusableValueError
	if !errors.As(err, &ue) || ue.Ref != "kv://long" || ue.Limit != exchange.MaxValueBytes || ue.Len != exchange.MaxValueBytes+1 {
		t.Fatalf("err = %.300v; want an UnusableValueError naming kv://long and the limit", err)
	}
	assertNoSecret(t, errText(err), l.secrets(sess)...)
}
