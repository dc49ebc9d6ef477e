package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/stsfake"
)

// audienceRewriter is a runner whose token endpoint mints for another
// audience than keylease asked for: it rewrites (or drops) the audience query
// of token requests and passes everything else through.
func audienceRewriter(aud string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == oidcfake.TokenPath {
			r = r.Clone(r.Context())
			q := r.URL.Query()
			if aud == "" {
				q.Del("audience") // the runner's default: https://github.com/<owner>
			} else {
				q.Set("audience", aud)
			}
			r.URL.RawQuery = q.Encode()
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

// TestOIDCAudienceMismatch: README says the job's token is verified locally
// (audience included) before it is used. A token minted for another audience
// must fail Token with AudienceMismatch, and AssumeRole must never send it
// to STS.
func TestOIDCAudienceMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		want      string // the audience keylease asks for ("" : the default)
		minted    string // what the runner mints for ("" : GitHub's default)
		wantInMsg string
	}{
		{"another audience", "", "api://someone-else", exchange.DefaultAudience},
		{"runner default audience", "", "", exchange.DefaultAudience},
		{"custom audience not honoured", "api://keylease-test", exchange.DefaultAudience, "api://keylease-test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLease(t)
			cfg := l.oidcConfig()
			cfg.Audience = tt.want
			cfg.HTTPClient = audienceRewriter(tt.minted)

			tok, id, err := exchange.NewOIDC(cfg).Token(context.Background())
			var e *exchange.Error
			if !errors.As(err, &e) || e.Code != "AudienceMismatch" {
				t.Fatalf("Token: err = %v, want *exchange.Error AudienceMismatch", err)
			}
			if !tok.IsZero() || id != nil {
				t.Error("Token returned a token or an identity along with the error")
			}
			if !strings.Contains(e.Hint, tt.wantInMsg) || !strings.Contains(e.Hint, "--audience") {
				t.Errorf("hint %q does not name the expected audience %q and --audience", e.Hint, tt.wantInMsg)
			}
			if l.tokenCount() != 1 {
				t.Fatalf("OnToken saw %d tokens, want 1 (registered before verification); the test shows nothing", l.tokenCount())
			}
			assertNoSecret(t, errText(err), l.secrets(nil)...)

			// Through AssumeRole: the unverified token never reaches STS.
			_, err = exchange.AssumeRole(context.Background(), l.awsConfig(), exchange.NewOIDC(cfg), l.stack.RoleARN, exchange.SessionName("6100000001", "1"))
			if !errors.As(err, &e) || e.Code != "AudienceMismatch" {
				t.Fatalf("AssumeRole: err = %v, want *exchange.Error AudienceMismatch", err)
			}
			if n := l.stack.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity); n != 0 {
				t.Errorf("STS was called %d time(s) with a token for the wrong audience", n)
			}
			if fp := l.stack.STS.TokenFingerprints(); len(fp) != 0 {
				t.Errorf("STS received %d token(s)", len(fp))
			}
			assertNoSecret(t, errText(err), l.secrets(nil)...)
		})
	}
}

// TestOIDCAudienceRewriterIsHonest: the rewriter itself lets a matching
// audience through, so the mismatch above comes from verification.
func TestOIDCAudienceRewriterIsHonest(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	cfg := l.oidcConfig()
	cfg.HTTPClient = audienceRewriter(exchange.DefaultAudience)
	_, id, err := exchange.NewOIDC(cfg).Token(context.Background())
	if err != nil {
		t.Fatalf("Token with the audience asked for: %v", err)
	}
	if id.Audience != exchange.DefaultAudience {
		t.Errorf("audience %q", id.Audience)
	}
	assertNoSecret(t, errText(err), l.secrets(nil)...)
}
