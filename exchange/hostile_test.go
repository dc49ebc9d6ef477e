package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/loopback"
	"github.com/keylease/keylease/internal/memcheck"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
)

// The canaries stored in the hostile stack's secrets: no error may carry
// any form of them, whatever a server echoes.
const (
	canaryA = "sk-proj-canaryAAAA 7f3e9b2c1d0a4e5f8a6b" // spaces and punctuation, like the leak seen
	canaryB = "sk-ant-canaryBBBB-0c1d2e3f4a5b6c7d8e9f"
	// sessionTokenLike has an STS session token's shape (base64 with + / =).
	sessionTokenLike = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIF+canary=="
)

// setupDeadline stands for lease's --setup-timeout in these tests.
const setupDeadline = 3 * time.Second

// hostileCase is one hostile server behaviour and what keylease must make of it.
type hostileCase struct {
	name      string
	setup     func(t *testing.T, l *lease)
	refs      int    // 1: GetSecretValue; 2: BatchGetSecretValue
	wantCode  string // the *exchange.Error code
	wantStage string // for a SetupTimeout: the stage it names
	wantText  string // in the error text
	check     func(t *testing.T, l *lease)
}

func onOIDC(op string, r fault.Rule) func(*testing.T, *lease) {
	return func(_ *testing.T, l *lease) { r.Op = op; l.stack.OIDC.Faults.Add(r) }
}

func onSTS(r fault.Rule) func(*testing.T, *lease) {
	return func(_ *testing.T, l *lease) { r.Op = stsfake.OpAssumeRoleWithWebIdentity; l.stack.STS.Faults.Add(r) }
}

func onSM(op string, r fault.Rule) func(*testing.T, *lease) {
	return func(_ *testing.T, l *lease) { r.Op = op; l.stack.SM.Faults.Add(r) }
}

func calls(f func(*lease) *fault.Injector, op string, atMost int) func(*testing.T, *lease) {
	return func(t *testing.T, l *lease) {
		t.Helper()
		if n := f(l).Count(op); n > atMost {
			t.Errorf("%s called %d times; want at most %d", op, n, atMost)
		}
	}
}

func smFaults(l *lease) *fault.Injector { return &l.stack.SM.Faults }

func stsFaults(l *lease) *fault.Injector { return &l.stack.STS.Faults }

// TestHostileServers drives a whole lease (OIDC token, discovery, JWKS, STS,
// Secrets Manager) against servers that answer hugely, slowly, brokenly or
// maliciously. For each: the lease ends with the expected error under its
// deadline, the heap grows by less than 64 MB, and no error text carries a
// secret (the canaries, the tokens, the STS credentials).
func TestHostileServers(t *testing.T) {
	huge := int64(1 << 30)
	cases := []hostileCase{
		// The runner's token endpoint.
		{name: "token 1 GiB", setup: onOIDC(oidcfake.OpToken, fault.Rule{Kind: fault.HugeBody, Body: `{"value":"`, Size: huge}), wantCode: "ResponseTooLarge", wantText: "oidc-token"},
		{name: "token gzip bomb", setup: onOIDC(oidcfake.OpToken, fault.Rule{Kind: fault.GzipBomb, Body: `{"value":"`, Size: huge}), wantCode: "ResponseTooLarge"},
		{name: "token drip", setup: onOIDC(oidcfake.OpToken, fault.Rule{Kind: fault.Drip}), wantCode: "SetupTimeout", wantStage: exchange.StageOIDCToken},
		{name: "token HTML", setup: onOIDC(oidcfake.OpToken, fault.Rule{Kind: fault.Malformed}), wantCode: "BadTokenResponse", wantText: "not JSON"},
		{name: "token {}", setup: onOIDC(oidcfake.OpToken, fault.Rule{Kind: fault.Malformed, Body: "{}", ContentType: "application/json"}), wantCode: "BadTokenResponse", wantText: "without a token"},
		{name: "token reset mid-body once", setup: onOIDC(oidcfake.OpToken, fault.Rule{Times: 1, Kind: fault.ResetMidBody, Body: `{"value":"eyJ`})},
		// Discovery and the key set (go-oidc reads them through keylease's client).
		{name: "discovery drip", setup: onOIDC(oidcfake.OpDiscovery, fault.Rule{Kind: fault.Drip}), wantCode: "SetupTimeout", wantStage: exchange.StageOIDCDiscovery},
		{name: "discovery 1 GiB", setup: onOIDC(oidcfake.OpDiscovery, fault.Rule{Kind: fault.HugeBody, Size: huge}), wantCode: "ResponseTooLarge", wantText: "oidc-discovery"},
		{name: "discovery HTML", setup: onOIDC(oidcfake.OpDiscovery, fault.Rule{Kind: fault.Malformed}), wantCode: "BadDiscovery", wantText: "not JSON"},
		{name: "discovery {}", setup: onOIDC(oidcfake.OpDiscovery, fault.Rule{Kind: fault.Malformed, Body: "{}", ContentType: "application/json"}), wantCode: "BadDiscovery", wantText: "no issuer"},
		{name: "discovery reset mid-body once", setup: onOIDC(oidcfake.OpDiscovery, fault.Rule{Times: 1, Kind: fault.ResetMidBody, Body: `{"issuer":"`})},
		{name: "jwks 1 GiB", setup: onOIDC(oidcfake.OpJWKS, fault.Rule{Kind: fault.HugeBody, Body: `{"keys":[{"n":"`, Size: huge}), wantCode: "JWKSUnavailable", wantText: "jwks"},
		{name: "jwks gzip bomb", setup: onOIDC(oidcfake.OpJWKS, fault.Rule{Kind: fault.GzipBomb, Body: `{"keys":[{"n":"`, Size: huge}), wantCode: "JWKSUnavailable"},
		{name: "jwks drip", setup: onOIDC(oidcfake.OpJWKS, fault.Rule{Kind: fault.Drip}), wantCode: "SetupTimeout", wantStage: exchange.StageJWKS},
		{name: "jwks HTML", setup: onOIDC(oidcfake.OpJWKS, fault.Rule{Kind: fault.Malformed, Body: "<html>" + canaryA + "</html>"}), wantCode: "InvalidToken"},
		// STS.
		{name: "sts 300 MB", setup: onSTS(fault.Rule{Kind: fault.HugeBody, Body: "<AssumeRoleWithWebIdentityResponse><X>", ContentType: "text/xml", Size: 300 << 20}), wantCode: "ResponseTooLarge", wantText: "sts"},
		{name: "sts gzip bomb", setup: onSTS(fault.Rule{Kind: fault.GzipBomb, Size: huge, ContentType: "text/xml"}), wantCode: "ResponseTooLarge"},
		{name: "sts HTML 200", setup: onSTS(fault.Rule{Kind: fault.Malformed}), wantCode: "BadResponse", wantText: "STS (XML)", check: calls(stsFaults, stsfake.OpAssumeRoleWithWebIdentity, 1)},
		{name: "sts reset mid-body once", setup: onSTS(fault.Rule{Times: 1, Kind: fault.ResetMidBody, Body: "<AssumeRoleWithWebIdentityResponse>"})},
		{name: "sts drip", setup: onSTS(fault.Rule{Kind: fault.Drip, ContentType: "text/xml"}), wantCode: "SetupTimeout", wantStage: exchange.StageSTS},
		{name: "sts 10 MB error code", setup: onSTS(fault.Rule{Status: 400, Code: strings.Repeat("X", 10<<20)}), wantCode: "ResponseTooLarge"},
		{name: "sts 100 KB error code", setup: onSTS(fault.Rule{Status: 400, Code: strings.Repeat("Y", 100<<10)}), wantCode: exchange.BadErrorCode},
		{name: "sts echoes a value", setup: onSTS(fault.Rule{Status: 403, Code: "AccessDenied", Message: "denied: " + canaryA}), wantCode: "AccessDenied", wantText: exchange.WithheldMessage},
		{name: "sts bad Expiration", setup: onSTS(fault.Rule{Kind: fault.Field, Field: "Expiration", Body: "tomorrow"}), wantCode: "BadResponse"},
		{name: "sts expired credentials", setup: onSTS(fault.Rule{Kind: fault.Field, Field: "Expiration", Body: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}), wantCode: "ExpiredSession", wantText: "STS returned credentials that expire at",
			check: calls(smFaults, "", 0)},
		{name: "sts 3-byte secret key", setup: onSTS(fault.Rule{Kind: fault.Field, Field: "SecretAccessKey", Body: "abc"}), wantCode: "BadResponse", wantText: "STS's answer is malformed"},
		{name: "sts empty answer", setup: onSTS(fault.Rule{Kind: fault.Malformed, ContentType: "text/xml", Body: `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`}), wantCode: "BadResponse", wantText: "empty answer"},
		// Secrets Manager.
		{name: "sm 120 MB value", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Kind: fault.HugeBody, Body: `{"SecretString":"`, Size: 120 << 20}), wantCode: "ResponseTooLarge", wantText: "secretsmanager"},
		{name: "sm gzip bomb", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.GzipBomb, Size: huge}), wantCode: "ResponseTooLarge"},
		{name: "sm HTML 200", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Malformed}), wantCode: "BadResponse"},
		{name: "sm drip", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Drip}), wantCode: "SetupTimeout", wantStage: exchange.StageSecretsManager},
		{name: "sm endless NextToken", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Endless}), wantCode: "TooManyPages",
			check: calls(smFaults, smfake.OpBatchGetSecretValue, 3)},
		{name: "sm duplicate names", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Duplicate}), wantCode: "DuplicateSecret"},
		{name: "sm echoes the value (get)", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Kind: fault.Echo}), wantCode: "ResourceNotFoundException", wantText: exchange.WithheldMessage},
		{name: "sm echoes the value (batch)", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Echo}), wantCode: "DecryptionFailure", wantText: exchange.WithheldMessage},
		{name: "sm 10 MB error code", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Status: 400, Code: strings.Repeat("Z", 10<<20)}), wantCode: "ResponseTooLarge"},
		{name: "sm 1 KB error code", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Status: 400, Code: strings.Repeat("Z", 1<<10)}), wantCode: exchange.BadErrorCode},
		{name: "sm VersionId is a value", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Kind: fault.Field, Field: "VersionId", Body: sessionTokenLike}), wantCode: "BadResponse", wantText: "VersionId"},
		{name: "sm VersionId is a value with spaces", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Field, Field: "VersionId", Body: canaryA}), wantCode: "BadResponse", wantText: "VersionId"},
		{name: "sm ARN is a value", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Kind: fault.Field, Field: "ARN", Body: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"}), wantCode: "BadResponse", wantText: "ARN"},
		{name: "sm 200 KiB value", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Kind: fault.Field, Field: "SecretString", Body: "sk-" + strings.Repeat("v", 200<<10)}), wantCode: "UnusableValue", wantText: "131072"},
		{name: "sm value with NUL", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Kind: fault.Field, Field: "SecretString", Body: "sk-abc\x00defghijklmnop"}), wantCode: "UnusableValue", wantText: "NUL"},
		{name: "sm empty answer", refs: 1, setup: onSM(smfake.OpGetSecretValue, fault.Rule{Kind: fault.Malformed, ContentType: "application/x-amz-json-1.1", Body: "{}"}), wantCode: "EmptySecret", wantText: "empty answer"},
		{name: "sm reset mid-body once", refs: 2, setup: onSM(smfake.OpBatchGetSecretValue, fault.Rule{Times: 1, Kind: fault.ResetMidBody, Body: `{"SecretValues":[`})},
	}
	for _, tc := range cases {
		// Sequential: the heap is measured process-wide.
		t.Run(tc.name, func(t *testing.T) { runHostile(t, tc) })
	}
}

func runHostile(t *testing.T, tc hostileCase) {
	l := newLease(t)
	l.stack.SM.Put(l.stack.Region, "kv/hostile/a", smfake.Value{String: canaryA})
	l.stack.SM.Put(l.stack.Region, "kv/hostile/b", smfake.Value{String: canaryB})
	reqs := []exchange.Request{{Label: "kv://hostile/a", SecretID: "kv/hostile/a"}, {Label: "kv://hostile/b", SecretID: "kv/hostile/b"}}
	if tc.refs == 1 {
		reqs = reqs[:1]
	}
	tc.setup(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), setupDeadline)
	defer cancel()
	start := time.Now()
	var sess *exchange.Session
	var err error
	grew := memcheck.Peak(func() {
		sess, err = l.assume(ctx)
		if err != nil {
			return
		}
		var got []exchange.Secret
		got, err = exchange.NewFetcher(sess.Config(l.awsConfig())).Fetch(ctx, reqs)
		for _, g := range got {
			g.Value.Wipe()
		}
	})
	took := time.Since(start)
	text := errText(err)
	leakcheck := append(l.secrets(sess), canaryA, canaryB, sessionTokenLike)
	assertNoSecret(t, text, leakcheck...)
	if grew > 64<<20 {
		t.Errorf("heap grew %d MiB; want under 64", grew>>20)
	}
	if took > setupDeadline+time.Second {
		t.Errorf("took %v; want it within the %v deadline", took, setupDeadline)
	}
	if tc.check != nil {
		tc.check(t, l)
	}
	if tc.wantCode == "" {
		if err != nil {
			t.Fatalf("lease: %v; want it to succeed after a retry", err)
		}
		return
	}
	var e *exchange.Error
	if !errors.As(err, &e) || e.Code != tc.wantCode {
		t.Fatalf("err = %.400s; want code %s", text, tc.wantCode)
	}
	if tc.wantStage != "" {
		var st *exchange.StageTimeoutError
		if !errors.As(err, &st) || st.Stage != tc.wantStage || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v; want a StageTimeoutError for %s", err, tc.wantStage)
		}
	}
	if tc.wantText != "" && !strings.Contains(err.Error(), tc.wantText) {
		t.Errorf("err = %.400s; want it to say %q", err, tc.wantText)
	}
	if len(err.Error()) > 4<<10 {
		t.Errorf("error text is %d bytes; want it short", len(err.Error()))
	}
}

// TestTokenRedirectRefused: the runner's token endpoint never redirects, so a
// redirect (here to another port) is refused and the request token goes
// nowhere else.
func TestTokenRedirectRefused(t *testing.T) {
	t.Parallel()
	l := newLease(t)
	var hits atomic.Int32
	var sawAuth atomic.Bool
	other, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			sawAuth.Store(true)
		}
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	l.stack.OIDC.Faults.Add(fault.Rule{Op: oidcfake.OpToken, Kind: fault.Redirect, Status: http.StatusFound, Location: other.URL + "/steal"})
	_, _, err = l.oidc().Token(context.Background())
	var e *exchange.Error
	if !errors.As(err, &e) || e.Code != "Redirect" {
		t.Fatalf("err = %v; want a refused redirect", err)
	}
	if hits.Load() != 0 || sawAuth.Load() {
		t.Fatalf("the other port got %d requests (Authorization seen: %v); want none", hits.Load(), sawAuth.Load())
	}
	if n := l.stack.OIDC.Faults.Count(oidcfake.OpToken); n != 1 {
		t.Errorf("token endpoint called %d times; a refused redirect is not retried", n)
	}
	assertNoSecret(t, errText(err), l.secrets(nil)...)
}
