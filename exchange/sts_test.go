package exchange_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/stsfake"
	"github.com/keylease/keylease/secret"
)

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	sess, err := l.assume(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sess.AccessKeyID, "ASIA") || sess.SecretAccessKey.IsZero() || sess.SessionToken.IsZero() {
		t.Errorf("session credentials incomplete: key id %q", sess.AccessKeyID)
	}
	if d := time.Until(sess.Expires); d < 890*time.Second || d > 901*time.Second {
		t.Errorf("session lasts %v, want 900s", d)
	}
	if got := l.stack.STS.Durations(); len(got) != 1 || got[0] != 900 {
		t.Errorf("DurationSeconds sent = %v, want [900]", got)
	}
	if sess.SessionName != "keylease-6100000001-1" || sess.RoleARN != l.stack.RoleARN {
		t.Errorf("session = %q %q", sess.SessionName, sess.RoleARN)
	}
	if sess.Identity == nil || sess.Identity.Subject != "repo:keylease/demo:ref:refs/heads/main" {
		t.Errorf("identity = %+v", sess.Identity)
	}
	if c, ok := l.stack.STS.Lookup(sess.AccessKeyID); !ok || c.SecretAccessKey != string(sess.SecretAccessKey.Bytes()) {
		t.Error("the session is not the one STS issued")
	}
	if n := len(sess.Secrets()); n != 3 {
		t.Errorf("Secrets() = %d values, want key id, secret key, session token", n)
	}
	creds, err := sess.Credentials().Retrieve(context.Background())
	if err != nil || creds.SessionToken != string(sess.SessionToken.Bytes()) || !creds.CanExpire {
		t.Errorf("Credentials() = %v", err)
	}
}

// The token reaches OnToken before STS sees it.
func TestAssumeRoleOnTokenFirst(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	var stsCallsAtOnToken []int
	src := exchange.NewOIDC(func() exchange.OIDCConfig {
		c := l.oidcConfig()
		inner := c.OnToken
		c.OnToken = func(v secret.Value) {
			stsCallsAtOnToken = append(stsCallsAtOnToken, l.stack.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity))
			inner(v)
		}
		return c
	}())
	l.stack.STS.Faults.Add(fault.Rule{Op: stsfake.OpAssumeRoleWithWebIdentity, Times: 1, Code: "Throttling", Status: 400})
	if _, err := exchange.AssumeRole(context.Background(), l.awsConfig(), src, l.stack.RoleARN, "s1"); err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1}; len(stsCallsAtOnToken) != 2 || stsCallsAtOnToken[0] != 0 || stsCallsAtOnToken[1] != 1 {
		t.Errorf("STS calls seen when each token was handed to OnToken = %v, want %v", stsCallsAtOnToken, want)
	}
}

func TestAssumeRoleFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(*lease)
		wantCode  string // "" : success
		wantCalls int    // STS calls == OIDC token requests
		wantText  []string
	}{
		{name: "throttled twice", setup: stsRule(fault.Rule{Times: 2, Code: "Throttling", Status: 400, Message: "Rate exceeded"}), wantCalls: 3},
		{name: "throttle fault three times", setup: stsRule(fault.Rule{Times: 3, Kind: fault.Throttle}), wantCalls: 4},
		{name: "500 once", setup: stsRule(fault.Rule{Times: 1, Status: 500}), wantCalls: 2},
		{name: "503 once", setup: stsRule(fault.Rule{Times: 1, Status: 503, Code: "ServiceUnavailable"}), wantCalls: 2},
		{name: "IDP communication error once", setup: stsRule(fault.Rule{Times: 1, Status: 400, Code: "IDPCommunicationError"}), wantCalls: 2},
		{name: "connection reset once", setup: stsRule(fault.Rule{Times: 1, Kind: fault.Reset}), wantCalls: 2},
		{name: "latency", setup: stsRule(fault.Rule{Times: 1, Kind: fault.Latency, Delay: 20 * time.Millisecond}), wantCalls: 1},
		{
			name: "timeout once",
			setup: func(l *lease) {
				l.httpTimeout = 300 * time.Millisecond
				stsRule(fault.Rule{Times: 1, Kind: fault.Latency, Delay: time.Second})(l)
			},
			wantCalls: 2,
		},
		{name: "throttled always", setup: stsRule(fault.Rule{Code: "Throttling", Status: 400}), wantCode: "Throttling", wantCalls: 5, wantText: []string{"after 5 attempts"}},
		{
			name:     "access denied by trust policy",
			setup:    func(l *lease) { l.stack.STS.SetTrustedSubject("repo:keylease/other:*") },
			wantCode: "AccessDenied", wantCalls: 1,
			wantText: []string{`sub="repo:keylease/demo:ref:refs/heads/main"`, `aud="sts.amazonaws.com"`, "iss=", "trust policy"},
		},
		{
			name:     "invalid identity token (audience)",
			setup:    func(l *lease) { l.stack.STS.SetAudience("https://github.com/keylease") },
			wantCode: "InvalidIdentityToken", wantCalls: 1,
			wantText: []string{"Incorrect token audience", `aud="sts.amazonaws.com"`, "OIDC identity provider"},
		},
		{name: "expired token", setup: stsRule(fault.Rule{Times: 1, Kind: fault.Expired}), wantCode: "ExpiredTokenException", wantCalls: 1, wantText: []string{"sub="}},
		{name: "IDP rejected claim", setup: stsRule(fault.Rule{Times: 1, Status: 403, Code: "IDPRejectedClaim", Message: "Token claims rejected"}), wantCode: "IDPRejectedClaim", wantCalls: 1, wantText: []string{"sub="}},
		{name: "AccessDenied fault", setup: stsRule(fault.Rule{Status: 403, Code: "AccessDenied", Message: "Not authorized"}), wantCode: "AccessDenied", wantCalls: 1},
		{name: "InvalidIdentityToken fault", setup: stsRule(fault.Rule{Status: 400, Code: "InvalidIdentityToken", Message: "bad"}), wantCode: "InvalidIdentityToken", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLease(t)
			tt.setup(l)
			sess, err := l.assume(context.Background())
			text := errText(err)
			assertNoSecret(t, text, l.secrets(sess)...)
			calls := l.stack.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity)
			if calls != tt.wantCalls {
				t.Errorf("STS calls = %d, want %d", calls, tt.wantCalls)
			}
			// a fresh token for every attempt
			if got := l.stack.OIDC.Faults.Count(oidcfake.OpToken); got != tt.wantCalls {
				t.Errorf("OIDC token requests = %d, want %d (one per STS attempt)", got, tt.wantCalls)
			}
			fps := l.stack.STS.TokenFingerprints()
			seen := map[string]bool{}
			for _, fp := range fps {
				if seen[fp] {
					t.Errorf("STS saw the same token twice: %v", fps)
				}
				seen[fp] = true
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("AssumeRole: %v", err)
				}
				return
			}
			t.Logf("error: %v", err)
			var e *exchange.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("err = %v, want code %s", err, tt.wantCode)
			}
			if e.Hint == "" || e.Op != "sts:AssumeRoleWithWebIdentity" {
				t.Errorf("error lacks op or hint: %#v", *e)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if regexp.MustCompile(`(?i)request ?id`).MatchString(err.Error()) {
				t.Errorf("error carries a request id: %v", err)
			}
		})
	}
}

func stsRule(r fault.Rule) func(*lease) {
	r.Op = stsfake.OpAssumeRoleWithWebIdentity
	return func(l *lease) { l.stack.STS.Faults.Add(r) }
}

func TestAssumeRoleMissingRole(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	_, err := exchange.AssumeRole(context.Background(), l.awsConfig(), l.oidc(), "", "x1")
	var e *exchange.Error
	if !errors.As(err, &e) || e.Code != "MissingRoleARN" || !strings.Contains(e.Hint, "--role-arn") {
		t.Fatalf("err = %v", err)
	}
}

func TestSessionName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tests := []struct{ run, attempt, want string }{
		{"6100000001", "1", "keylease-6100000001-1"},
		{"", "", "keylease"},
		{"12 34/56", "2", "keylease-12-34-56-2"},
		{strings.Repeat("9", 80), "1", "keylease-" + strings.Repeat("9", 55)},
		{"ümlaut", "1", "keylease--mlaut-1"},
	}
	for _, tt := range tests {
		got := exchange.SessionName(tt.run, tt.attempt)
		if got != tt.want || !valid.MatchString(got) {
			t.Errorf("SessionName(%q, %q) = %q, want %q", tt.run, tt.attempt, got, tt.want)
		}
	}
}
