package githubapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/leakcheck"
)

const token = "ghs_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWxYz"

var repo = githubapi.Repo{Owner: "acme", Name: "infra"}

func start(t *testing.T, prefix string, o githubapi.Options) (*githubfake.Server, *githubapi.Client) {
	t.Helper()
	f, err := githubfake.Start(prefix, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	o.Getenv = func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}
	c, err := githubapi.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func noLeak(t *testing.T, what string, vs ...any) {
	t.Helper()
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%v\n", v)
	}
	leakcheck.Assert(t, what, []byte(b.String()), token)
}

// TestProposeFile runs the registry PR flow on a GHES-style base URL:
// branch, file update, PR; then again (PR reused and retitled); then the
// same change once more (no new commit, no new PR).
func TestProposeFile(t *testing.T) {
	t.Parallel()
	f, c := start(t, "/api/v3", githubapi.Options{})
	if !strings.HasSuffix(c.GH.BaseURL.String(), "/api/v3/") {
		t.Fatalf("base URL %q, want GITHUB_API_URL with a trailing slash", c.GH.BaseURL)
	}
	r := f.AddRepo("acme", "infra", "main")
	f.Lock()
	r.Files["main"][".keylease.yml"] = []byte("# keep me\nversion: 1\n")
	f.Unlock()
	ctx := context.Background()
	ch := githubapi.FileChange{Branch: "keylease/rotate", Path: ".keylease.yml", Content: []byte("# keep me\nversion: 2\n"),
		Message: "keylease: rotate", Title: "keylease: rotate openai", Body: "one"}
	pr, err := c.ProposeFile(ctx, repo, ch)
	if err != nil {
		t.Fatal(err)
	}
	ch.Title, ch.Content = "keylease: rotate openai and xai", []byte("# keep me\nversion: 3\n")
	pr2, err := c.ProposeFile(ctx, repo, ch)
	if err != nil {
		t.Fatal(err)
	}
	updates := f.Faults.Count(githubfake.OpUpdateFile)
	if _, err := c.ProposeFile(ctx, repo, ch); err != nil {
		t.Fatal(err)
	}
	f.Lock()
	defer f.Unlock()
	if pr.GetNumber() != pr2.GetNumber() || len(r.Pulls) != 1 || r.Pulls[0].Title != ch.Title || r.Pulls[0].Base != "main" {
		t.Errorf("PRs %d and %d, %d open, want one reused PR retitled", pr.GetNumber(), pr2.GetNumber(), len(r.Pulls))
	}
	if got := string(r.Files["keylease/rotate"][".keylease.yml"]); got != "# keep me\nversion: 3\n" {
		t.Errorf("branch file %q", got)
	}
	if got := string(r.Files["main"][".keylease.yml"]); got != "# keep me\nversion: 1\n" {
		t.Errorf("default branch changed: %q", got)
	}
	if updates != 2 || f.Faults.Count(githubfake.OpUpdateFile) != 2 || f.Faults.Count(githubfake.OpCreatePull) != 1 || f.Faults.Count(githubfake.OpCreateRef) != 1 {
		t.Errorf("calls %v: want 2 file updates, 1 PR create, 1 ref create", f.Faults.Counts())
	}
}

func TestUpsertIssueByLabel(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{})
	r := f.AddRepo("acme", "infra", "main")
	f.Lock()
	// A pull request carrying the label: the issues list returns it too.
	r.Issues = append(r.Issues, &githubfake.Issue{Number: 1, Title: "a PR", State: "open", Labels: []string{"keylease-audit"}, IsPR: true})
	f.Unlock()
	ctx := context.Background()
	is, err := c.UpsertIssue(ctx, repo, githubapi.IssueState{Label: "keylease-audit", Title: "audit: 2 findings", Body: "x"})
	if err != nil || is.GetNumber() == 1 {
		t.Fatalf("create: %v #%d", err, is.GetNumber())
	}
	is2, err := c.UpsertIssue(ctx, repo, githubapi.IssueState{Label: "keylease-audit", Title: "audit: 1 finding", Body: "y"})
	if err != nil || is2.GetNumber() != is.GetNumber() || is2.GetTitle() != "audit: 1 finding" {
		t.Fatalf("update: %v #%d %q", err, is2.GetNumber(), is2.GetTitle())
	}
	is3, err := c.UpsertIssue(ctx, repo, githubapi.IssueState{Label: "keylease-audit", Close: true})
	if err != nil || is3.GetState() != "closed" {
		t.Fatalf("close: %v %q", err, is3.GetState())
	}
	if is4, err := c.UpsertIssue(ctx, repo, githubapi.IssueState{Label: "keylease-audit", Close: true}); err != nil || is4 != nil {
		t.Fatalf("close when clean: %v %v", err, is4)
	}
	if n := f.Faults.Count(githubfake.OpCreateIssue); n != 1 {
		t.Errorf("%d issues created, want 1", n)
	}
}

// TestPagination: N items cost ⌈N/per_page⌉ calls through go-github's NextPage.
func TestPagination(t *testing.T) {
	t.Parallel()
	f, c := start(t, "/api/v3", githubapi.Options{PerPage: 3})
	r := f.AddRepo("acme", "infra", "main")
	for i := range 6 {
		f.AddRepo("acme", fmt.Sprintf("r%d", i), "main")
	}
	f.Lock()
	r.Secrets = []string{"A", "B", "C", "D", "E", "F", "G"}
	r.Envs["prod"] = []string{"P"}
	f.Unlock()
	f.AddOrgSecrets("acme", "ORG1", "ORG2")
	ctx := context.Background()
	repos, err := c.OrgRepos(ctx, "acme")
	if err != nil || len(repos) != 7 || f.Faults.Count(githubfake.OpListOrgRepos) != 3 {
		t.Errorf("org repos: %d in %d calls (%v), want 7 in 3", len(repos), f.Faults.Count(githubfake.OpListOrgRepos), err)
	}
	names, err := c.RepoSecretNames(ctx, repo)
	if err != nil || strings.Join(names, ",") != "A,B,C,D,E,F,G" || f.Faults.Count(githubfake.OpListSecrets) != 3 {
		t.Errorf("repo secrets %v in %d calls (%v)", names, f.Faults.Count(githubfake.OpListSecrets), err)
	}
	if names, err := c.OrgSecretNames(ctx, "acme"); err != nil || len(names) != 2 {
		t.Errorf("org secrets %v %v", names, err)
	}
	if names, err := c.EnvSecretNames(ctx, int(r.ID), "prod"); err != nil || len(names) != 1 {
		t.Errorf("env secrets %v %v", names, err)
	}
}

func TestSecondaryRateLimitWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{})
	f.AddRepo("acme", "infra", "main")
	f.Faults.Add(fault.Rule{Op: githubfake.OpListSecrets, Kind: fault.Throttle, Delay: time.Second, Times: 1})
	start := time.Now()
	if _, err := c.RepoSecretNames(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second || f.Faults.Count(githubfake.OpListSecrets) != 2 {
		t.Errorf("done after %s and %d calls, want ≥1s (Retry-After) and 2", el, f.Faults.Count(githubfake.OpListSecrets))
	}
}

func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{})
	f.AddRepo("acme", "infra", "main")
	f.Faults.Add(fault.Rule{Op: githubfake.OpListSecrets, Kind: fault.Throttle, Code: "primary", Delay: time.Second, Times: 1})
	if _, err := c.RepoSecretNames(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if n := f.Faults.Count(githubfake.OpListSecrets); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestRateLimitBoundedAndCut(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{MaxRetries: 1})
	f.AddRepo("acme", "infra", "main")
	f.Faults.Add(fault.Rule{Op: githubfake.OpListSecrets, Kind: fault.Throttle, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.RepoSecretNames(ctx, repo)
	var ab *github.AbuseRateLimitError
	if !errors.As(err, &ab) || f.Faults.Count(githubfake.OpListSecrets) != 1 {
		t.Fatalf("err %v after %d calls: want the secondary limit at once (its wait is past the deadline)", err, f.Faults.Count(githubfake.OpListSecrets))
	}
	noLeak(t, "rate-limit error", err)
}

func TestBadTokenErrorValueFree(t *testing.T) {
	t.Parallel()
	f, err := githubfake.Start("", "ghs_other")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	f.AddRepo("acme", "infra", "main")
	c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ProposeFile(context.Background(), repo, githubapi.FileChange{Branch: "b", Path: "p", Content: []byte("x"), Message: "m", Title: "t"})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err %v, want a 401", err)
	}
	noLeak(t, "bad-token error", err)
}

func TestJobLogFollows302WithoutAuthorization(t *testing.T) {
	t.Parallel()
	f, c := start(t, "/api/v3", githubapi.Options{})
	r := f.AddRepo("acme", "infra", "main")
	f.Lock()
	r.Runs = []int64{7}
	r.Jobs[7] = []int64{70, 71}
	r.Logs[70] = []byte("2026-12-01T00:00:00Z step one\n")
	f.Unlock()
	ctx := context.Background()
	runs, err := c.Runs(ctx, repo, "2026-11-01")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v %v", runs, err)
	}
	jobs, err := c.Jobs(ctx, repo, runs[0].GetID())
	if err != nil || len(jobs) != 2 {
		t.Fatalf("jobs %v %v", jobs, err)
	}
	log, err := c.JobLog(ctx, repo, 70)
	if err != nil || string(log) != "2026-12-01T00:00:00Z step one\n" {
		t.Fatalf("log %q %v", log, err)
	}
	// The signed URL really refuses a request that carries the token.
	u, _, err := c.GH.Actions.GetWorkflowJobLogs(ctx, repo.Owner, repo.Name, 70, 1)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	f.Lock()
	rejected := f.BlobAuthRejected
	f.Unlock()
	if resp.StatusCode != http.StatusBadRequest || rejected != 1 {
		t.Errorf("download with Authorization: %d, %d rejected; want 400 and exactly that one", resp.StatusCode, rejected)
	}
	if f.Faults.Count(githubfake.OpBlob) != 2 {
		t.Errorf("%d blob calls, want 2", f.Faults.Count(githubfake.OpBlob))
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for n, c := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(c))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestArtifactZipInMemoryAndCapped(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{MaxDownload: 4096})
	r := f.AddRepo("acme", "infra", "main")
	f.Lock()
	r.RunArtifacts[7] = []int64{9, 10}
	r.Artifacts[9] = zipOf(t, map[string]string{"run-record.json": `{"v":1}`, "dir/b.txt": "b"})
	r.Artifacts[10] = zipOf(t, map[string]string{"big.txt": strings.Repeat("z", 8192)}) // compresses under the cap
	f.Unlock()
	ctx := context.Background()
	as, err := c.Artifacts(ctx, repo, 7)
	if err != nil || len(as) != 2 {
		t.Fatalf("artifacts %v %v", as, err)
	}
	files, err := c.ArtifactFiles(ctx, repo, 9)
	if err != nil || string(files["run-record.json"]) != `{"v":1}` || string(files["dir/b.txt"]) != "b" {
		t.Fatalf("files %v %v", files, err)
	}
	_, err = c.ArtifactFiles(ctx, repo, 10)
	if !errors.Is(err, githubapi.ErrDownloadTooLarge) {
		t.Fatalf("zip bomb-ish artifact: %v, want ErrDownloadTooLarge", err)
	}
	c2, _ := githubapi.New(githubapi.Options{MaxDownload: 16, Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}})
	if _, err := c2.ArtifactFiles(ctx, repo, 9); !errors.Is(err, githubapi.ErrDownloadTooLarge) {
		t.Fatalf("download over cap: %v", err)
	}
	noLeak(t, "errors", err)
}

func TestAPIURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                "https://api.github.com/",
		"https://ghe.example.com/api/v3":  "https://ghe.example.com/api/v3/",
		"https://ghe.example.com/api/v3/": "https://ghe.example.com/api/v3/",
	} {
		c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
			if k == "GITHUB_API_URL" {
				return in
			}
			return ""
		}})
		if err != nil || c.GH.BaseURL.String() != want {
			t.Errorf("GITHUB_API_URL %q: %v %v, want %q", in, c, err, want)
		}
	}
	if _, err := githubapi.New(githubapi.Options{Getenv: func(string) string { return "ghe.example.com" }}); err == nil || !strings.Contains(err.Error(), "GITHUB_API_URL") {
		t.Errorf("schemeless URL: %v", err)
	}
}
