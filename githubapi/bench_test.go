package githubapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/githubfake"
)

// TestProposeFileCallCount pins the calls of the registry PR: 8 the first
// time (repo, ref 404, base ref, create ref, contents, put, list PRs,
// create PR), 5 on a rerun that only retitles (repo, ref, contents, list
// PRs, edit: the file is current, so no put), 4 on an identical rerun.
func TestProposeFileCallCount(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{})
	r := f.AddRepo("acme", "infra", "main")
	f.Lock()
	r.Files["main"]["k.yml"] = []byte("a: 1\n")
	f.Unlock()
	ch := githubapi.FileChange{Branch: "kl", Path: "k.yml", Content: []byte("a: 2\n"), Message: "m", Title: "t1"}
	ctx := context.Background()
	for i, want := range []int{8, 5, 4} {
		if i == 1 {
			ch.Title = "t2"
		}
		f.Faults.ResetCounts()
		if _, err := c.ProposeFile(ctx, repo, ch); err != nil {
			t.Fatal(err)
		}
		if n := f.Faults.Count(""); n != want {
			t.Errorf("run %d: %d calls %v, want %d", i+1, n, f.Faults.Counts(), want)
		}
	}
}

// BenchmarkProposeFileRerun is the steady state: the PR exists and is current.
func BenchmarkProposeFileRerun(b *testing.B) {
	f, err := githubfake.Start("/api/v3", token)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}})
	if err != nil {
		b.Fatal(err)
	}
	f.AddRepo("acme", "infra", "main")
	ch := githubapi.FileChange{Branch: "kl", Path: "k.yml", Content: []byte("a: 2\n"), Message: "m", Title: "t"}
	ctx := context.Background()
	if _, err := c.ProposeFile(ctx, repo, ch); err != nil {
		b.Fatal(err)
	}
	f.Faults.ResetCounts()
	for b.Loop() {
		if _, err := c.ProposeFile(ctx, repo, ch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Faults.Count(""))/float64(b.N), "calls/op")
}

// BenchmarkOrgRepos250 lists 250 repositories at 100 a page.
func BenchmarkOrgRepos250(b *testing.B) {
	f, err := githubfake.Start("", token)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 250 {
		f.AddRepo("acme", fmt.Sprintf("r%03d", i), "main")
	}
	ctx := context.Background()
	f.Faults.ResetCounts()
	for b.Loop() {
		rs, err := c.OrgRepos(ctx, "acme")
		if err != nil || len(rs) != 250 {
			b.Fatal(len(rs), err)
		}
	}
	b.ReportMetric(float64(f.Faults.Count(githubfake.OpListOrgRepos))/float64(b.N), "calls/op")
}
