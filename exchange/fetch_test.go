package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
)

const (
	openaiKey = "sk-proj-Qm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg"
	xaiKey    = "xai-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo"
	antKey    = "sk-ant-api03-c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	orgValue  = "org-7f3a9c2e5b1d8f4a6c0e"
	pendKey   = "sk-proj-UGVuZGluZ1BlbmRpbmdQZW5kaW5nUGVuZGluZw"
)

var antJSON = `{"api_key":"` + antKey + `","org":"` + orgValue + `"}`

// binaryValue is binary but env-safe (no NUL byte; see TestUnusableValues).
var binaryValue = []byte{0x05, 0xff, 0x10, 's', 'k', '-', 0x80, 0x7f, 0x01, 0x02, 0x03, 0x04, 0xfe}

// allValues is every seeded value, for assertNoSecret.
var allValues = []string{openaiKey, xaiKey, antKey, orgValue, pendKey, antJSON, string(binaryValue)}

// leased returns a stack with seeded secrets and a Fetcher holding a session
// STS issued for an OIDC token.
func leased(t *testing.T) (*lease, *exchange.Session, *exchange.Fetcher) {
	t.Helper()
	l := newLease(t)
	sm := l.stack.SM
	sm.Put("us-east-1", "kv/openai/ci", smfake.Value{String: openaiKey})
	sm.Put("us-east-1", "kv/xai/ci", smfake.Value{String: xaiKey})
	sm.Put("us-east-1", "kv/anthropic/ci", smfake.Value{String: antJSON})
	sm.Put("us-east-1", "kv/binary", smfake.Value{Binary: binaryValue})
	sm.Put("us-east-1", "kv/openai/ci", smfake.Value{String: pendKey}, smfake.StagePending)
	sm.Put("eu-west-1", "kv/openai/eu", smfake.Value{String: openaiKey})
	sess, err := l.assume(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l, sess, exchange.NewFetcher(sess.Config(l.awsConfig()))
}

func TestFetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reqs      func(l *lease) []exchange.Request
		setup     func(l *lease)
		want      [][]byte         // index-aligned values; nil: that ref fails
		wantCodes map[int]string   // index -> error code
		wantCalls map[string]int   // emulator op -> calls
		wantText  map[int][]string // index -> substrings of its error
		check     func(*testing.T, *lease, []exchange.Secret)
	}{
		{
			name:      "one ref, one GetSecretValue",
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{[]byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 1, smfake.OpBatchGetSecretValue: 0},
			check: func(t *testing.T, _ *lease, s []exchange.Secret) {
				if s[0].VersionID == "" || !strings.HasPrefix(s[0].ARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:kv/openai/ci-") || s[0].Stage != "AWSCURRENT" {
					t.Errorf("provenance = %q %q %q", s[0].VersionID, s[0].ARN, s[0].Stage)
				}
			},
		},
		{
			name:      "batch with a partial error",
			reqs:      refs("kv/openai/ci", "kv/missing", "kv/xai/ci"),
			want:      [][]byte{[]byte(openaiKey), nil, []byte(xaiKey)},
			wantCodes: map[int]string{1: "ResourceNotFoundException"},
			wantText:  map[int][]string{1: {"kv://missing", "us-east-1"}},
			wantCalls: map[string]int{smfake.OpBatchGetSecretValue: 1, smfake.OpGetSecretValue: 0},
		},
		{
			name: "ARN region wins over the configured region",
			reqs: func(l *lease) []exchange.Request {
				return []exchange.Request{{Label: "aws-sm://arn", SecretID: l.stack.SM.ARN("eu-west-1", "kv/openai/eu"), Region: "us-east-1"}}
			},
			want: [][]byte{[]byte(openaiKey)},
			check: func(t *testing.T, l *lease, _ []exchange.Secret) {
				if n := l.stack.SM.RegionCalls("eu-west-1"); n != 1 {
					t.Errorf("eu-west-1 calls = %d, want 1", n)
				}
			},
		},
		{
			name: "partial ARN and name in one batch",
			reqs: func(l *lease) []exchange.Request {
				arn := l.stack.SM.ARN("us-east-1", "kv/xai/ci")
				return []exchange.Request{{Label: "a", SecretID: arn[:len(arn)-7]}, {Label: "b", SecretID: "kv/openai/ci"}}
			},
			want:      [][]byte{[]byte(xaiKey), []byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpBatchGetSecretValue: 1},
		},
		{
			name: "two regions, one batch each",
			reqs: func(l *lease) []exchange.Request {
				l.stack.SM.Put("eu-west-1", "kv/xai/eu", smfake.Value{String: xaiKey})
				return []exchange.Request{
					{Label: "1", SecretID: "kv/openai/ci"}, {Label: "2", SecretID: "kv/xai/ci"},
					{Label: "3", SecretID: "kv/openai/eu", Region: "eu-west-1"}, {Label: "4", SecretID: "kv/xai/eu", Region: "eu-west-1"},
				}
			},
			want:      [][]byte{[]byte(openaiKey), []byte(xaiKey), []byte(openaiKey), []byte(xaiKey)},
			wantCalls: map[string]int{smfake.OpBatchGetSecretValue: 2},
		},
		{
			name: "json keys of one secret: one call",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{
					{Label: "kv://anthropic/ci#api_key", SecretID: "kv/anthropic/ci", JSONKey: "api_key", RequiredPrefix: "sk-ant-", Vendor: "anthropic"},
					{Label: "kv://anthropic/ci#org", SecretID: "kv/anthropic/ci", JSONKey: "org"},
				}
			},
			want:      [][]byte{[]byte(antKey), []byte(orgValue)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 1, smfake.OpBatchGetSecretValue: 0},
		},
		{
			name: "missing JSON key",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{{Label: "kv://anthropic/ci#apikey", SecretID: "kv/anthropic/ci", JSONKey: "apikey"}}
			},
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "JSONKeyNotFound"},
			wantText:  map[int][]string{0: {`"apikey"`, "kv://anthropic/ci#apikey"}},
		},
		{
			// A tombstone is recognised before the #json-key and the prefix
			// are applied: the message says revoked, not a missing field.
			name: "revocation tombstone read with a JSON key and a prefix",
			reqs: func(l *lease) []exchange.Request {
				l.stack.SM.Put("us-east-1", "kv/revoked", smfake.Value{String: `{"keylease_revoked":"2026-12-01T09:30:00Z","reason":"suspected-leak"}`})
				return []exchange.Request{{Label: "kv://revoked#api_key", SecretID: "kv/revoked", JSONKey: "api_key", RequiredPrefix: "sk-", Vendor: "openai"}}
			},
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "Revoked"},
			wantText:  map[int][]string{0: {"revoked on 2026-12-01T09:30:00Z (suspected-leak)"}},
		},
		{
			name: "JSON key of a value that is not JSON",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{{Label: "kv://openai/ci#k", SecretID: "kv/openai/ci", JSONKey: "k"}}
			},
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "NotJSON"},
		},
		{
			name: "required prefix mismatch",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{{Label: "kv://openai/ci", SecretID: "kv/openai/ci", RequiredPrefix: "sk-ant-", Vendor: "anthropic"}}
			},
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "PrefixMismatch"},
			wantText:  map[int][]string{0: {"the value does not start with the policy's required prefix for anthropic; the ref points at the wrong secret"}},
		},
		{
			name: "required prefix matches",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{{Label: "kv://xai/ci", SecretID: "kv/xai/ci", RequiredPrefix: "xai-", Vendor: "xai"}}
			},
			want: [][]byte{[]byte(xaiKey)},
		},
		{
			name: "binary secret",
			reqs: refs("kv/binary"),
			want: [][]byte{binaryValue},
		},
		{
			name: "AWSPENDING stage",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{
					{Label: "pending", SecretID: "kv/openai/ci", Stage: exchange.StagePending},
					{Label: "current", SecretID: "kv/openai/ci"},
				}
			},
			want:      [][]byte{[]byte(pendKey), []byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 2},
		},
		{
			name: "AWSPENDING stage missing",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{{Label: "pending", SecretID: "kv/xai/ci", Stage: exchange.StagePending}}
			},
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "ResourceNotFoundException"},
			wantText:  map[int][]string{0: {"AWSPENDING"}},
		},
		{
			name: "no region",
			reqs: func(*lease) []exchange.Request {
				return []exchange.Request{{Label: "kv://x", SecretID: "kv/x", Region: "none"}}
			},
			setup:     func(*lease) {},
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "ResourceNotFoundException"},
		},
		{
			name:      "500 twice then ok",
			setup:     smRule(fault.Rule{Op: smfake.OpGetSecretValue, Times: 2, Status: 500}),
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{[]byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 3},
		},
		{
			name:      "throttled once then ok",
			setup:     smRule(fault.Rule{Op: smfake.OpBatchGetSecretValue, Times: 1, Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}),
			reqs:      refs("kv/openai/ci", "kv/xai/ci"),
			want:      [][]byte{[]byte(openaiKey), []byte(xaiKey)},
			wantCalls: map[string]int{smfake.OpBatchGetSecretValue: 2},
		},
		{
			name:      "throttle fault twice",
			setup:     smRule(fault.Rule{Op: smfake.OpGetSecretValue, Times: 2, Kind: fault.Throttle}),
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{[]byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 3},
		},
		{
			name:      "connection reset once",
			setup:     smRule(fault.Rule{Op: smfake.OpGetSecretValue, Times: 1, Kind: fault.Reset}),
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{[]byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 2},
		},
		{
			name:      "latency",
			setup:     smRule(fault.Rule{Op: smfake.OpGetSecretValue, Times: 1, Kind: fault.Latency, Delay: 20 * time.Millisecond}),
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{[]byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 1},
		},
		{
			name: "timeout once",
			setup: func(l *lease) {
				l.httpTimeout = 300 * time.Millisecond
				smRule(fault.Rule{Op: smfake.OpGetSecretValue, Times: 1, Kind: fault.Latency, Delay: time.Second})(l)
			},
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{[]byte(openaiKey)},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 2},
		},
		{
			name:      "expired session not retried",
			setup:     smRule(fault.Rule{Op: smfake.OpGetSecretValue, Kind: fault.Expired}),
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "ExpiredTokenException"},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 1},
		},
		{
			name:      "500 always",
			setup:     smRule(fault.Rule{Op: smfake.OpGetSecretValue, Status: 500, Code: "InternalServiceError"}),
			reqs:      refs("kv/openai/ci"),
			want:      [][]byte{nil},
			wantCodes: map[int]string{0: "InternalServiceError"},
			wantCalls: map[string]int{smfake.OpGetSecretValue: 5},
		},
		{
			name:      "batch not allowed: one GetSecretValue per ref",
			setup:     smRule(fault.Rule{Op: smfake.OpBatchGetSecretValue, Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform secretsmanager:BatchGetSecretValue"}),
			reqs:      refs("kv/openai/ci", "kv/xai/ci"),
			want:      [][]byte{[]byte(openaiKey), []byte(xaiKey)},
			wantCalls: map[string]int{smfake.OpBatchGetSecretValue: 1, smfake.OpGetSecretValue: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, sess, f := leased(t)
			if tt.setup != nil {
				tt.setup(l)
				f = exchange.NewFetcher(sess.Config(l.awsConfig())) // setup may change the client
			}
			got, err := f.Fetch(context.Background(), tt.reqs(l))
			text := errText(err)
			assertNoSecret(t, text, append(l.secrets(sess), allValues...)...)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d results, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				if !bytes.Equal(got[i].Value.Bytes(), w) {
					t.Errorf("ref %d: value mismatch (got %d bytes, want %d)", i, got[i].Value.Len(), len(w))
				}
			}
			var errs []*exchange.Error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					var xe *exchange.Error
					if !errors.As(e, &xe) {
						t.Fatalf("error %v is not an *exchange.Error", e)
					}
					errs = append(errs, xe)
				}
			} else if err != nil {
				t.Fatalf("Fetch error is not joined: %v", err)
			}
			if len(errs) != len(tt.wantCodes) {
				t.Fatalf("errors = %v, want codes %v", err, tt.wantCodes)
			}
			for i, code := range tt.wantCodes {
				e := findRef(errs, got[i].Label)
				if e == nil || e.Code != code {
					t.Errorf("ref %d: error %v, want code %s", i, e, code)
					continue
				}
				if e.Hint == "" {
					t.Errorf("ref %d: no hint: %v", i, e)
				}
				for _, w := range tt.wantText[i] {
					if !strings.Contains(e.Error(), w) {
						t.Errorf("ref %d: %q does not contain %q", i, e.Error(), w)
					}
				}
			}
			for op, n := range tt.wantCalls {
				if c := l.stack.SM.Faults.Count(op); c != n {
					t.Errorf("%s calls = %d, want %d", op, c, n)
				}
			}
			if tt.check != nil {
				tt.check(t, l, got)
			}
		})
	}
}

func findRef(errs []*exchange.Error, label string) *exchange.Error {
	for _, e := range errs {
		if e.Ref == label {
			return e
		}
	}
	return nil
}

func refs(ids ...string) func(*lease) []exchange.Request {
	return func(*lease) []exchange.Request {
		out := make([]exchange.Request, len(ids))
		for i, id := range ids {
			out[i] = exchange.Request{Label: "kv://" + strings.TrimPrefix(id, "kv/"), SecretID: id}
		}
		return out
	}
}

func smRule(r fault.Rule) func(*lease) {
	return func(l *lease) { l.stack.SM.Faults.Add(r) }
}

func TestFetchMissingRegion(t *testing.T) {
	t.Parallel()
	l, sess, _ := leased(t)
	cfg := sess.Config(l.awsConfig())
	cfg.Region = ""
	_, err := exchange.NewFetcher(cfg).Fetch(context.Background(), []exchange.Request{{Label: "kv://openai/ci", SecretID: "kv/openai/ci"}})
	var e *exchange.Error
	if !errors.As(err, &e) || e.Code != "MissingRegion" || !strings.Contains(e.Hint, "AWS_REGION") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchRefusedCredentials(t *testing.T) {
	t.Parallel()
	l, sess, _ := leased(t)
	cfg := l.awsConfig()
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: "wrong-secret-access-key-0123456789", SessionToken: string(sess.SessionToken.Bytes())}, nil
	})
	_, err := exchange.NewFetcher(cfg).Fetch(context.Background(), []exchange.Request{{Label: "kv://openai/ci", SecretID: "kv/openai/ci"}})
	var e *exchange.Error
	if !errors.As(err, &e) || e.Code != "InvalidSignatureException" {
		t.Fatalf("err = %v, want InvalidSignatureException", err)
	}
	assertNoSecret(t, errText(err), append(l.secrets(sess), append(allValues, "wrong-secret-access-key-0123456789")...)...)
}

// Round trips for N refs in one region: 1 token + 1 STS + ⌈N/20⌉ batch
// calls; discovery and JWKS once per process, however many leases.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	const n = 45
	var reqs []exchange.Request
	for i := range n {
		name := fmt.Sprintf("kv/bulk/%02d", i)
		l.stack.SM.Put("us-east-1", name, smfake.Value{String: fmt.Sprintf("sk-bulk-%02d-0123456789abcdef", i)})
		reqs = append(reqs, exchange.Request{Label: name, SecretID: name, RequiredPrefix: "sk-"})
	}
	for round := 1; round <= 2; round++ {
		// A new token source each round: the provider cache is per process.
		sess, err := exchange.AssumeRole(context.Background(), l.awsConfig(), l.oidc(), l.stack.RoleARN, "rt")
		if err != nil {
			t.Fatal(err)
		}
		got, err := exchange.NewFetcher(sess.Config(l.awsConfig())).Fetch(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range got {
			if want := fmt.Sprintf("sk-bulk-%02d-0123456789abcdef", i); string(s.Value.Bytes()) != want {
				t.Fatalf("ref %d: wrong value", i)
			}
		}
		counts := map[string]int{
			"token":     l.stack.OIDC.Faults.Count(oidcfake.OpToken),
			"discovery": l.stack.OIDC.Faults.Count(oidcfake.OpDiscovery),
			"jwks":      l.stack.OIDC.Faults.Count(oidcfake.OpJWKS),
			"sts":       l.stack.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity),
			"batch":     l.stack.SM.Faults.Count(smfake.OpBatchGetSecretValue),
			"get":       l.stack.SM.Faults.Count(smfake.OpGetSecretValue),
			// Least privilege: plain refs need no listing or describing.
			"list":     l.stack.SM.Faults.Count(smfake.OpListSecrets),
			"describe": l.stack.SM.Faults.Count(smfake.OpDescribeSecret),
		}
		want := map[string]int{"token": round, "discovery": 1, "jwks": 1, "sts": round, "batch": 3 * round, "get": 0, "list": 0, "describe": 0}
		for k, w := range want {
			if counts[k] != w {
				t.Errorf("lease %d: %s calls = %d, want %d", round, k, counts[k], w)
			}
		}
	}
}
