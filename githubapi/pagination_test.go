package githubapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/keylease/keylease/githubapi"
)

// TestPaginationThatDoesNotAdvance: a server whose Link header keeps
// pointing at the same page gets ErrPagination after one repeat, not an
// endless listing.
func TestPaginationThatDoesNotAdvance(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<%s/orgs/acme/repos?page=1>; rel="next"`, srv.URL))
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `[{"id":1,"name":"app","full_name":"acme/app"}]`)
	}))
	defer srv.Close()
	c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": srv.URL, "GITHUB_TOKEN": "t"}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.OrgRepos(context.Background(), "acme")
	if !errors.Is(err, githubapi.ErrPagination) {
		t.Fatalf("err %v, want ErrPagination", err)
	}
	if n := calls.Load(); n > 2 {
		t.Errorf("%d calls for a listing that does not advance", n)
	}
}
