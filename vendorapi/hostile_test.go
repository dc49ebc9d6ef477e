package vendorapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

const hostileKey = "sk-ant-api03-HostileRedirectTest0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-AA" // #nosec G101 -- made up

// TestRedirectNeverCarriesTheKey: a vendor endpoint that redirects to
// another host must not receive the key there (Go forwards custom headers
// such as x-api-key across hosts); the redirect is refused and the verdict
// is indeterminate, not the other host's answer.
func TestRedirectNeverCarriesTheKey(t *testing.T) {
	t.Parallel()
	var sawKey atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("x-api-key")+r.Header.Get("Authorization"), "sk-ant-") {
			sawKey.Add(1)
		}
		_, _ = fmt.Fprint(w, `{"data":[]}`)
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusFound) //nolint:gosec // G710: the open redirect is the test
	}))
	defer first.Close()
	a, err := vendorapi.NewAnthropic(vendorapi.Options{Getenv: func(k string) string {
		return map[string]string{"ANTHROPIC_BASE_URL": first.URL}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Check(context.Background(), secret.FromString(hostileKey))
	if v != vendorapi.Indeterminate || err == nil {
		t.Fatalf("verdict %v, %v; want indeterminate with an error", v, err)
	}
	if n := sawKey.Load(); n != 0 {
		t.Fatalf("the redirect target received the key %d time(s)", n)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), hostileKey)
}

// TestPaginationThatNeverEnds: a vendor whose cursors cycle (or never end)
// gets ErrPagination, not an endless loop; the server's cursors are not in
// the error.
func TestPaginationThatNeverEnds(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := calls.Add(1)
		cursor := "cursor-a"
		if n%2 == 0 {
			cursor = "cursor-b"
		}
		_, _ = fmt.Fprintf(w, `{"data":[{"id":"apikey_%d","name":"k","status":"active","created_at":"2026-11-01T00:00:00Z"}],"has_more":true,"last_id":%q}`, n, cursor)
	}))
	defer srv.Close()
	a, err := vendorapi.NewAnthropic(vendorapi.Options{Getenv: func(k string) string {
		return map[string]string{"ANTHROPIC_BASE_URL": srv.URL}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = a.Org(secret.FromString(hostileKey)).Keys(ctx, "")
	if !errors.Is(err, vendorapi.ErrPagination) {
		t.Fatalf("err %v, want ErrPagination", err)
	}
	if n := calls.Load(); n > 3 {
		t.Errorf("%d calls for a listing whose cursors cycle after 2", n)
	}
	if strings.Contains(err.Error(), "cursor-") {
		t.Errorf("the error quotes the server's cursor: %q", err)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), hostileKey)
}
