package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/secret"
)

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    exchange.Error
		want string
	}{
		{exchange.Error{Op: "secretsmanager:GetSecretValue", Ref: "kv://openai/ci", Code: "ResourceNotFoundException", Message: "not found", Hint: "check the name"},
			"secretsmanager:GetSecretValue kv://openai/ci: ResourceNotFoundException: not found; check the name"},
		{exchange.Error{Op: "oidc token", Code: "MissingOIDCEnv", Message: "x"}, "oidc token: MissingOIDCEnv: x"},
	}
	for _, tt := range tests {
		e := tt.e
		if got := e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		wrapped := fmt.Errorf("lease: %w", &e)
		var back *exchange.Error
		if !errors.As(wrapped, &back) || back.Code != tt.e.Code {
			t.Errorf("errors.As lost the *Error through wrapping")
		}
	}
}

func TestErrorUnwrapsContext(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.assume(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var e *exchange.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T, want *exchange.Error", err)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmEvYiJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
	sessionToken := "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIFakeFakeFake"
	tests := []struct {
		name, msg string
		secrets   []string
		gone      []string
		kept      []string
	}{
		{"known secret", "token " + tok + " rejected", []string{tok}, []string{tok}, []string{"token", "rejected"}},
		{"jwt-like unknown", "bad token: " + tok, nil, []string{tok}, []string{"bad token:"}},
		{"long opaque", "header X-Amz-Security-Token=" + sessionToken, nil, []string{sessionToken}, []string{"header"}},
		{"base64 of a secret", "value c2stcHJvai1hYmNkZWZnaA== seen", []string{"sk-proj-abcdefgh"}, []string{"c2stcHJvai1hYmNkZWZnaA=="}, []string{"seen"}},
		{"secret split by newline", "x sk-proj\nQWERTY y", []string{"sk-proj QWERTY"}, []string{"sk-proj QWERTY"}, nil},
		{"ARN kept", "Secrets Manager can't find arn:aws:secretsmanager:us-east-1:123456789012:secret:kv/openai/ci-AbCdEf", nil, nil, []string{"arn:aws:secretsmanager:us-east-1"}},
		{"capped", strings.Repeat("word ", 200), nil, nil, []string{"…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var vs []secret.Value
			for _, s := range tt.secrets {
				vs = append(vs, secret.FromString(s))
			}
			got := exchange.Scrub(tt.msg, vs...)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("scrub(%q) = %q still has a secret", tt.name, got)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("scrub = %q lost %q", got, k)
				}
			}
			if len(got) > 310 {
				t.Errorf("scrub result is %d bytes, want capped", len(got))
			}
			assertNoSecret(t, got, tt.secrets...)
		})
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("InvalidIdentityToken: token eyJhbGciOi.eyJzdWIi.sig was rejected", "eyJhbGciOi.eyJzdWIi.sig")
	f.Add("message with sk-proj-abc123 inside", "sk-proj-abc123")
	f.Add("c2stcHJvai1hYmMxMjM= base64", "sk-proj-abc123")
	f.Fuzz(func(t *testing.T, msg, sec string) {
		got := exchange.Scrub(msg, secret.FromString(sec))
		if len(got) > 300+len("…") {
			t.Fatalf("not capped: %d bytes", len(got))
		}
		// The invariant holds for secrets that cannot be rebuilt from the
		// replacement text or from folded whitespace.
		if len(sec) < 4 || strings.ContainsAny(sec, "[] \t\r\n\v\f\u0085\u00a0…") || strings.Contains(secret.Redacted, sec) {
			return
		}
		if strings.Contains(got, sec) {
			t.Fatalf("secret survived scrub: msg %q -> %q", msg, got)
		}
	})
}

func FuzzSessionName(f *testing.F) {
	f.Add("6100000001", "1")
	f.Add("", "")
	f.Add("ü/ \x00", strings.Repeat("9", 100))
	valid := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	f.Fuzz(func(t *testing.T, run, attempt string) {
		if got := exchange.SessionName(run, attempt); !valid.MatchString(got) {
			t.Fatalf("SessionName(%q, %q) = %q breaks STS's rules", run, attempt, got)
		}
	})
}
