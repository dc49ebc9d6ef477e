package githubapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/leakcheck"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

func paced(t *testing.T, p *githubapi.Pace) (*githubfake.Server, *githubapi.Client) {
	t.Helper()
	p.Next = http.DefaultTransport
	return start(t, "", githubapi.Options{HTTPClient: &http.Client{Transport: p}, Sleep: p.Sleep, Now: p.Now})
}

// TestPaceKeepsThePrimaryBudget: 25 calls against 10 an hour wait for the
// resets (on the fake clock) and are never refused.
func TestPaceKeepsThePrimaryBudget(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	p := &githubapi.Pace{Now: c.now, Sleep: c.sleep}
	f, gc := paced(t, p)
	f.AddRepo(repo.Owner, repo.Name, "main")
	f.SetLimits(githubfake.Limits{PerHour: 10, Now: c.now})
	for i := range 25 {
		if _, err := gc.RepoSecretNames(context.Background(), repo); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	n := f.Counters()
	if n.OverBudget != 0 || n.WindowsStarted < 3 || p.Waited() < 2*time.Hour {
		t.Fatalf("over budget %d, windows %d, waited %s", n.OverBudget, n.WindowsStarted, p.Waited())
	}
}

// TestPaceRetryAfterAndDeadline: a secondary limit is waited out and the
// GET sent again; a wait past the deadline fails with ErrBudget instead.
func TestPaceRetryAfterAndDeadline(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	p := &githubapi.Pace{Now: c.now, Sleep: c.sleep, Deadline: c.t.Add(2 * time.Minute)}
	f, gc := paced(t, p)
	f.AddRepo(repo.Owner, repo.Name, "main")
	f.Faults.Add(fault.Rule{Op: githubfake.OpListSecrets, Times: 2, Kind: fault.Throttle, Delay: 30 * time.Second})
	if _, err := gc.RepoSecretNames(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if got := f.Faults.Count(githubfake.OpListSecrets); got != 3 || p.Waited() != time.Minute {
		t.Fatalf("%d calls, waited %s; want 3 calls after two 30 s waits", got, p.Waited())
	}
	f.Faults.Add(fault.Rule{Op: githubfake.OpListSecrets, Times: 1, Kind: fault.Throttle, Delay: 5 * time.Minute})
	_, err := gc.RepoSecretNames(context.Background(), repo)
	if !errors.Is(err, githubapi.ErrBudget) {
		t.Fatalf("err %v, want ErrBudget", err)
	}
}

// TestETagsAnswer304: the second identical GET is conditional, answered
// 304 by GitHub and served from the remembered answer.
func TestETagsAnswer304(t *testing.T) {
	t.Parallel()
	p := &githubapi.Pace{ETags: githubapi.NewETags()}
	f, gc := paced(t, p)
	r := f.AddRepo(repo.Owner, repo.Name, "main")
	f.Lock()
	r.Secrets = []string{"A", "B"}
	f.Unlock()
	for i := range 2 {
		names, err := gc.RepoSecretNames(context.Background(), repo)
		if err != nil || len(names) != 2 {
			t.Fatalf("call %d: %v %v", i, names, err)
		}
	}
	if n := f.Counters().NotModified; n != 1 {
		t.Fatalf("%d answers were 304, want 1", n)
	}
	f.Lock()
	r.Secrets = []string{"A", "B", "C"}
	f.Unlock()
	names, err := gc.RepoSecretNames(context.Background(), repo)
	if err != nil || len(names) != 3 {
		t.Fatalf("a changed list was served stale: %v %v", names, err)
	}
}

// TestPaceGivingUpDoesNotBlockLaterCalls: when the pacer gives up on a GET
// it returns ErrLimited and never hands GitHub's refusal to go-github,
// which would refuse every later call until Retry-After on the wall clock
// (a regression: the org audit's later repositories all went unreached).
func TestPaceGivingUpDoesNotBlockLaterCalls(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	p := &githubapi.Pace{Now: c.now, Sleep: c.sleep, MaxRetries: 1}
	f, gc := paced(t, p)
	f.AddRepo(repo.Owner, repo.Name, "main")
	f.Faults.Add(fault.Rule{Op: githubfake.OpListSecrets, Times: 3, Kind: fault.Throttle, Delay: time.Hour})
	if _, err := gc.RepoSecretNames(context.Background(), repo); !errors.Is(err, githubapi.ErrLimited) {
		t.Fatalf("err %v, want ErrLimited", err)
	}
	if _, err := gc.Environments(context.Background(), repo); err != nil {
		t.Fatalf("a later call was refused: %v", err)
	}
}

// TestETagsHostileCache: a cache file the audit did not write cannot crash
// it or put answers in GitHub's mouth. null is an empty cache (it left a
// nil map that the next answer panicked on); an entry with the ETag "*"
// (which GitHub answers 304 for whatever the list now holds) or a header
// value with a control character is dropped and its URL asked afresh.
func TestETagsHostileCache(t *testing.T) {
	t.Parallel()
	e := githubapi.NewETags()
	p := &githubapi.Pace{ETags: e}
	f, gc := paced(t, p)
	r := f.AddRepo(repo.Owner, repo.Name, "main")
	f.Lock()
	r.Secrets = []string{"A", "B"}
	f.Unlock()
	if err := e.Load(strings.NewReader("null")); err != nil {
		t.Fatalf("Load(null): %v", err)
	}
	if names, err := gc.RepoSecretNames(context.Background(), repo); err != nil || len(names) != 2 {
		t.Fatalf("after a null cache: %v %v", names, err)
	}
	var saved bytes.Buffer
	if err := e.Save(&saved); err != nil || e.Len() == 0 {
		t.Fatalf("save: %v, %d entries", err, e.Len())
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(saved.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	forged := base64.StdEncoding.EncodeToString([]byte(`{"total_count":0,"secrets":[]}`))
	for _, tamper := range []map[string]any{
		{"etag": "*", "body": forged},
		{"etag": `W/"x"`, "content_type": "application/json\r\nX-Injected: 1", "body": forged},
	} {
		for u, v := range m {
			maps.Copy(v, tamper)
			m[u] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		e2 := githubapi.NewETags()
		if err := e2.Load(bytes.NewReader(b)); err != nil {
			t.Fatalf("Load of a tampered cache: %v", err)
		}
		gc2, err := githubapi.New(githubapi.Options{HTTPClient: &http.Client{Transport: &githubapi.Pace{ETags: e2, Next: http.DefaultTransport}}, Getenv: func(k string) string {
			return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
		}})
		if err != nil {
			t.Fatal(err)
		}
		names, err := gc2.RepoSecretNames(context.Background(), repo)
		if err != nil || len(names) != 2 {
			t.Errorf("a cache entry %v answered for GitHub: %v %v, want the 2 secrets GitHub holds", tamper, names, err)
		}
	}
}

// TestETagsNeverKeepADownload: a job log and an artifact fetched through
// the audit's pacer, whose storage host tags them with an ETag, are not
// remembered: the cache file would hold a log's or artifact's bytes and the
// signed URL (a credential) as its key, and be written to disk and the
// Actions cache.
func TestETagsNeverKeepADownload(t *testing.T) {
	t.Parallel()
	e := githubapi.NewETags()
	f, gc := paced(t, &githubapi.Pace{ETags: e})
	r := f.AddRepo(repo.Owner, repo.Name, "main")
	const line = "2026-12-01T00:00:00Z a line only the log holds\n"
	f.Lock()
	r.Runs = []int64{7}
	r.Jobs[7] = []int64{70}
	r.Logs[70] = []byte(line)
	r.RunArtifacts[7] = []int64{700}
	r.Artifacts[700] = zipOf(t, map[string]string{"out.txt": "artifact-only-content"})
	f.Unlock()
	ctx := context.Background()
	for range 2 {
		if log, err := gc.JobLog(ctx, repo, 70); err != nil || string(log) != line {
			t.Fatalf("log %q %v", log, err)
		}
		if files, err := gc.ArtifactFiles(ctx, repo, 700); err != nil || string(files["out.txt"]) != "artifact-only-content" {
			t.Fatalf("artifact %v %v", files, err)
		}
	}
	var saved bytes.Buffer
	if err := e.Save(&saved); err != nil {
		t.Fatal(err)
	}
	s := saved.String()
	for _, bad := range []string{"sig=", "_blob", base64.StdEncoding.EncodeToString([]byte(line))} {
		if strings.Contains(s, bad) {
			t.Errorf("the ETag cache holds a download (%q): %s", bad, s)
		}
	}
	leakcheck.Assert(t, "etag cache", saved.Bytes(), token)
}

// TestETagsSaveKeepsOnlyThisRun: Save keeps the answers to what this run
// asked for; an answer loaded for a URL not asked again (yesterday's runs
// list, a repository gone) is dropped, so the file does not grow by a day's
// lists each day until Load refuses it.
func TestETagsSaveKeepsOnlyThisRun(t *testing.T) {
	t.Parallel()
	e := githubapi.NewETags()
	f, gc := paced(t, &githubapi.Pace{ETags: e})
	f.AddRepo(repo.Owner, repo.Name, "main")
	stale := `{"http://127.0.0.1:1/repos/acme/gone/actions/runs?created=%3E%3D2026-11-01":{"etag":"W/\"1\"","body":"e30="}}`
	if err := e.Load(strings.NewReader(stale)); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.RepoSecretNames(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := e.Save(&saved); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved.String(), "acme/gone") || !strings.Contains(saved.String(), "/actions/secrets") {
		t.Errorf("saved %s; want this run's answer only", saved.String())
	}
	leakcheck.Assert(t, "etag cache", saved.Bytes(), token)
}
