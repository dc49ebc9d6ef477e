package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/loopback"
	"github.com/keylease/keylease/internal/memcheck"
	"github.com/keylease/keylease/transport"
)

// canary is in every hostile body: no error may quote it.
const canary = "sk-canary-3f9a7c2e51d84b6e9a0c7d1f"

// hostile serves every request with rule r.
func hostile(t *testing.T, r fault.Rule) string {
	t.Helper()
	var in fault.Injector
	in.Add(r)
	srv, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if f, hit := in.Call("x"); hit && fault.Apply(w, req, f) {
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv.URL
}

// get reads url's body whole through c, as go-oidc and the SDK do.
func get(ctx context.Context, c *http.Client, url string, hdr ...string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return len(b), err
}

func TestHostileBodies(t *testing.T) {
	t.Parallel()
	const capBytes = 1 << 20
	tests := []struct {
		name string
		rule fault.Rule
		hdr  []string
		want any // a pointer to the error type expected
	}{
		{"1 GiB body", fault.Rule{Kind: fault.HugeBody, Body: `{"keys":["` + canary, Size: 1 << 30}, nil, new(*transport.BodyLimitError)},
		{"gzip bomb, transparent", fault.Rule{Kind: fault.GzipBomb, Body: canary, Size: 1 << 30}, nil, new(*transport.BodyLimitError)},
		{"gzip bomb, caller asked", fault.Rule{Kind: fault.GzipBomb, Body: canary, Size: 1 << 30}, []string{"Accept-Encoding", "gzip"}, new(*transport.BodyLimitError)},
		{"drip", fault.Rule{Kind: fault.Drip, Body: canary + strings.Repeat("x", 100), Delay: 200 * time.Millisecond}, nil, new(*transport.AttemptTimeoutError)},
		{"reset mid-body", fault.Rule{Kind: fault.ResetMidBody, Body: `{"value":"` + canary}, nil, new(*transport.BodyReadError)},
		{"redirect", fault.Rule{Kind: fault.Redirect, Location: "http://127.0.0.1:1/steal"}, nil, new(*transport.RedirectError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := hostile(t, tt.rule)
			c := transport.New(transport.Limits{Endpoint: "jwks", MaxBody: capBytes, AttemptTimeout: time.Second, RefuseRedirects: true})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			var err error
			var n int
			grew := memcheck.Peak(func() { n, err = get(ctx, c, url, tt.hdr...) })
			if err == nil {
				t.Fatalf("read %d bytes, no error; want %T", n, tt.want)
			}
			if !errors.As(err, tt.want) {
				t.Fatalf("error %T %v; want %T", err, err, tt.want)
			}
			if n > capBytes {
				t.Fatalf("read %d bytes, over the %d cap", n, capBytes)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v; want the 1s attempt timeout to bound it", d)
			}
			if grew > 64<<20 {
				t.Fatalf("heap grew %d MiB; want under 64", grew>>20)
			}
			if !strings.Contains(err.Error(), "jwks") {
				t.Fatalf("error %q does not name the endpoint", err)
			}
			leakcheck.Assert(t, "the error", []byte(err.Error()), canary)
		})
	}
}

func TestRetryClassesForTheSDK(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  interface{ RetryableError() bool }
		want bool
	}{
		{&transport.BodyLimitError{}, false},
		{&transport.RedirectError{}, false},
		{&transport.EncodingError{}, false},
		{&transport.AttemptTimeoutError{}, true},
		{&transport.BodyReadError{}, true},
		{&transport.BodyReadError{BadEncoding: true}, false},
	} {
		if got := tt.err.RetryableError(); got != tt.want {
			t.Errorf("%T.RetryableError() = %v; want %v", tt.err, got, tt.want)
		}
	}
}

func TestWithinLimits(t *testing.T) {
	t.Parallel()
	for _, r := range []fault.Rule{
		{Kind: fault.HugeBody, Size: 1000},
		{Kind: fault.GzipBomb, Size: 1000},
		{Kind: fault.Drip, Body: "ok", Delay: time.Millisecond},
		{Kind: fault.Redirect, Location: "/", Times: 1}, // followed when not refused, then served normally
	} {
		url := hostile(t, r)
		c := transport.New(transport.Limits{Endpoint: "test", MaxBody: 1000, AttemptTimeout: 2 * time.Second})
		n, err := get(context.Background(), c, url)
		if err != nil || n == 0 {
			t.Errorf("kind %d: read %d bytes, %v; want the whole body", r.Kind, n, err)
		}
	}
}

func TestCallerDeadlineIsTheCallers(t *testing.T) {
	t.Parallel()
	url := hostile(t, fault.Rule{Kind: fault.Drip, Body: strings.Repeat("x", 100), Delay: 100 * time.Millisecond})
	c := transport.New(transport.Limits{Endpoint: "test", AttemptTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := get(ctx, c, url)
	var ate *transport.AttemptTimeoutError
	if errors.As(err, &ate) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %T %v; want the caller's own deadline, not the attempt timeout", err, err)
	}
}

func TestContentLengthOverCapRefusedUpFront(t *testing.T) {
	t.Parallel()
	srv, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "5000000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, canary)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := transport.New(transport.Limits{Endpoint: "sts", MaxBody: 1 << 20})
	_, err = get(context.Background(), c, srv.URL)
	var le *transport.BodyLimitError
	if !errors.As(err, &le) || le.Limit != 1<<20 {
		t.Fatalf("error %v; want a BodyLimitError for the 1 MiB cap", err)
	}
}

func TestProxyFromEnvironment(t *testing.T) {
	t.Parallel()
	tr, ok := transport.Base(transport.New(transport.Limits{}).Transport).(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Fatal("the client's transport does not take its proxy from the environment")
	}
}

// TestSleep: the wait between retries ends with the context (a cancelled
// job must not sit out a long Retry-After) and otherwise lasts d.
func TestSleep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := transport.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Sleep on a cancelled context took %s", d)
	}
	start = time.Now()
	if err := transport.Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Sleep returned after %s, want at least 20ms", d)
	}
}
