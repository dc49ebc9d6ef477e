package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
)

// addOrgRepos adds n repositories to org acme; every 7th has a vendor-key
// secret, every 11th a workflow exposing one, every 13th a leaked log.
func (w *auditWorld) addOrgRepos(n int, leaked string) {
	for i := range n {
		r := w.gh.AddRepo("acme", fmt.Sprintf("svc-%03d", i), "main")
		w.gh.Lock()
		if i%7 == 0 {
			r.Secrets = []string{"ANTHROPIC_API_KEY"}
		}
		if i%11 == 0 {
			r.Files["main"][".github/workflows/ci.yml"] = []byte(auditWorkflow)
		}
		if i%17 == 0 {
			r.Envs["prod"] = []string{"XAI_API_KEY", "SENTRY_DSN"}
		}
		if i%13 == 0 {
			id := int64(9000 + i)
			r.Runs = []int64{id}
			r.Jobs[id] = []int64{id * 10}
			r.Logs[id*10] = []byte("leak " + leaked + "\n")
		}
		w.gh.Unlock()
	}
}

// TestAuditShardsMergeToTheUnshardedRun: shards 1/3..3/3 of an org,
// merged, are the unsharded report (Shards aside), byte for byte.
func TestAuditShardsMergeToTheUnshardedRun(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	_, leaked := w.oa.AddKey(project, "org-leak", false)
	w.secrets = append(w.secrets, leaked)
	w.addOrgRepos(40, leaked)
	w.gh.AddOrgSecrets("acme", "OPENAI_ADMIN_KEY", "NPM_TOKEN")
	o := w.options()
	o.Org = "acme"
	if _, _, err := w.audit(o); err != nil { // performs the pending retirement
		t.Fatal(err)
	}
	whole, _, err := w.audit(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Repos) != 41 {
		t.Fatalf("%d repositories audited, want 41", len(whole.Repos))
	}
	orgFindings, envFindings := 0, 0
	for _, f := range whole.Findings {
		if f.Subject == "organization acme secret OPENAI_ADMIN_KEY" {
			orgFindings++
		}
		if strings.HasPrefix(f.Subject, "environment prod of acme/svc-") && strings.HasSuffix(f.Subject, " secret XAI_API_KEY") {
			envFindings++
		}
	}
	if orgFindings != 1 || envFindings != 3 { // svc-000, -017, -034
		t.Fatalf("the organization's vendor-key secret reported %d times (want once), environment ones %d (want 3)", orgFindings, envFindings)
	}
	var paths []string
	seen := 0
	for i := 1; i <= 3; i++ {
		so := o
		so.Shard, so.Shards = i, 3
		so.Outputs.ReportPath = filepath.Join(w.dir, fmt.Sprintf("shard-%d.json", i))
		so.Outputs.SARIFPath = ""
		rep, _, err := w.audit(so)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(rep.Repos)
		if i > 1 && len(rep.Entries) != 0 {
			t.Fatalf("shard %d audited the registry too", i)
		}
		paths = append(paths, so.Outputs.ReportPath)
	}
	if seen != 41 {
		t.Fatalf("shards audited %d repositories in all, want each of the 41 once", seen)
	}
	mergedPath := filepath.Join(w.dir, "merged.json")
	merged, _, err := RunAuditMerge(context.Background(), paths, masking.FingerprintList{}, AuditOutputs{ReportPath: mergedPath}, lease.IO{Stdout: &w.stderr, Stderr: &w.stderr, Getenv: w.getenv})
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Shards) != 3 {
		t.Fatalf("merged shards %v", merged.Shards)
	}
	merged.Shards = nil
	a, _ := whole.Marshal()
	b, _ := merged.Marshal()
	if string(a) != string(b) {
		t.Fatalf("merged shards differ from the unsharded run:\n--- unsharded\n%s\n--- merged\n%s", a, b)
	}
	mb, _ := os.ReadFile(mergedPath)
	w.check("merged report", mb)
}

// fakeClock runs rate-limit windows without waiting for them: a sleep
// moves the clock to the end of the wait.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

// nopMask is the masking of an audit that leased nothing.
type nopMask struct{ sc *masking.Scanner }

func (nopMask) Register(secret.Value) error   { return nil }
func (nopMask) Sanitize(s string) string      { return s }
func (nopMask) SanitizeError(err error) error { return err }
func (m nopMask) Scan(b []byte) int           { return len(m.sc.Scan(b)) }
func (nopMask) DetectorNames() []string       { return nil }

// orgAudit audits every repository of org acme on gh's GitHub with the
// pacing RunAudit uses.
func orgAudit(t testing.TB, gh *githubfake.Server, clock *fakeClock, deadline time.Time, concurrency int, etags *githubapi.ETags) (*auditreport.Report, *githubapi.Pace) {
	t.Helper()
	cfg, err := registry.Parse("r.yaml", []byte(auditRegistry), "p.json", []byte(auditPolicy))
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"GITHUB_API_URL": gh.APIURL(), "GITHUB_TOKEN": ghToken}[k]
	}
	pace := &githubapi.Pace{Next: http.DefaultTransport, Concurrency: concurrency, Now: clock.Now, Sleep: clock.Sleep, Deadline: deadline, ETags: etags}
	c, err := githubapi.New(githubapi.Options{HTTPClient: &http.Client{Transport: pace}, Getenv: getenv, Sleep: clock.Sleep, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.OrgRepos(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	repos := make([]AuditRepo, 0, len(list))
	for _, r := range list {
		repos = append(repos, AuditRepo{Repo: githubapi.Repo{Owner: "acme", Name: r.GetName()}, ID: r.GetID()})
	}
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	a := &Auditor{Config: cfg, GitHub: c, Mask: nopMask{sc}, Scanner: sc, Now: clock.Now, Since: DefaultSince, Concurrency: concurrency}
	return a.Audit(context.Background(), repos, nil), pace
}

// TestAuditOrgOf1000WithinLimits: 1,000 repositories against a GitHub
// with 1,000 requests an hour and secondary limits firing: the audit
// finishes (over fake hours), never goes over the budget or the
// concurrency, honours Retry-After, and with a deadline reports what it
// could not reach instead of passing it.
func TestAuditOrgOf1000WithinLimits(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("1,000 repositories")
	}
	gh, err := githubfake.Start("", ghToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	for i := range 1000 {
		r := gh.AddRepo("acme", fmt.Sprintf("r%04d", i), "main")
		if i%100 == 0 {
			gh.Lock()
			r.Secrets = []string{"OPENAI_API_KEY"}
			gh.Unlock()
		}
	}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	// The fake counts a request in flight until its handler returns, a
	// little after the client has its answer: 4 at the client can be seen
	// as up to 8 there.
	gh.SetLimits(githubfake.Limits{PerHour: 1000, MaxConcurrent: 8, Now: clock.Now})
	// 8 refusals: fewer than the pacer's 9 attempts even if one request
	// draws them all.
	gh.Faults.Add(fault.Rule{Op: githubfake.OpListRuns, Times: 8, Kind: fault.Throttle, Delay: 30 * time.Second})

	rep, pace := orgAudit(t, gh, clock, time.Time{}, 4, nil)
	c := gh.Counters()
	if c.OverBudget != 0 || c.Secondary != 0 {
		t.Fatalf("went over the limits: %d over the primary budget, %d over the concurrency", c.OverBudget, c.Secondary)
	}
	served := 0
	for _, n := range c.Served {
		served += n
	}
	if served > c.WindowsStarted*1000 || c.MaxInFlight > 8 {
		t.Fatalf("%d requests in %d windows, %d in flight at most", served, c.WindowsStarted, c.MaxInFlight)
	}
	if len(rep.Repos) != 1000 || len(rep.Unreached) != 0 || ids(rep)[auditreport.VendorKeyInGitHub] != 10 {
		t.Fatalf("repos %d, unreached %d (first %v), findings %v", len(rep.Repos), len(rep.Unreached), first(rep.Unreached), ids(rep))
	}
	if n := gh.Faults.Count(githubfake.OpListRuns); n < 1008 {
		t.Fatalf("list runs called %d times: the 8 secondary limits were not retried", n)
	}
	t.Logf("1,000 repositories: %d requests, %d budget windows, waited %s (fake clock), %d in flight at most",
		served, c.WindowsStarted, pace.Waited(), c.MaxInFlight)

	// With 90 minutes, two windows: some repositories are unreached.
	gh.Faults.Clear()
	clock2 := &fakeClock{t: start.Add(24 * time.Hour)}
	gh.SetLimits(githubfake.Limits{PerHour: 1000, MaxConcurrent: 8, Now: clock2.Now})
	rep, _ = orgAudit(t, gh, clock2, clock2.Now().Add(90*time.Minute), 4, nil)
	c = gh.Counters()
	if c.OverBudget != 0 || len(rep.Unreached) == 0 {
		t.Fatalf("with a deadline: %d over budget, %d unreached", c.OverBudget, len(rep.Unreached))
	}
	for _, u := range rep.Unreached {
		if !strings.Contains(u.Why, "deadline") {
			t.Fatalf("unreached for another reason: %+v", u)
		}
	}
	t.Logf("deadline 90 min: %d subjects unreached, %d findings", len(rep.Unreached), len(rep.Findings))
}

func first[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

// TestAuditConditionalRequests: a second audit with the first one's ETags
// is answered 304 for every unchanged list; GitHub does not count those,
// so the second run costs a quarter of the budget and finds the same.
func TestAuditConditionalRequests(t *testing.T) {
	t.Parallel()
	gh, err := githubfake.Start("", ghToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	for i := range 200 {
		r := gh.AddRepo("acme", fmt.Sprintf("r%04d", i), "main")
		if i%50 == 0 {
			gh.Lock()
			r.Secrets = []string{"OPENAI_API_KEY"}
			gh.Unlock()
		}
	}
	clock := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	gh.SetLimits(githubfake.Limits{PerHour: 5000, Now: clock.Now})
	etags := githubapi.NewETags()
	first, _ := orgAudit(t, gh, clock, time.Time{}, 4, etags)
	c1 := gh.Counters()
	var saved bytes.Buffer
	if err := etags.Save(&saved); err != nil {
		t.Fatal(err)
	}
	again := githubapi.NewETags()
	if err := again.Load(&saved); err != nil || again.Len() != etags.Len() {
		t.Fatalf("reload: %v, %d of %d answers", err, again.Len(), etags.Len())
	}
	gh.SetLimits(githubfake.Limits{PerHour: 5000, Now: clock.Now})
	second, _ := orgAudit(t, gh, clock, time.Time{}, 4, again)
	c2 := gh.Counters()
	served := func(c githubfake.Counters) (n int) {
		for _, v := range c.Served {
			n += v
		}
		return n
	}
	a, _ := first.Marshal()
	b, _ := second.Marshal()
	if string(a) != string(b) || ids(second)[auditreport.VendorKeyInGitHub] != 4 {
		t.Fatalf("the conditional run found otherwise:\n%s\n%s", a, b)
	}
	// Per repository: 4 requests first; then only the workflow directory's
	// 404 (no ETag on an error) is counted, the 3 lists are 304.
	if served(c1) < 800 || c2.NotModified < 600 || served(c2) > 200+10 {
		t.Fatalf("first run %d counted; second %d counted, %d not modified", served(c1), served(c2), c2.NotModified)
	}
	t.Logf("200 repositories: %d requests counted, then %d counted and %d answered 304", served(c1), served(c2), c2.NotModified)
}
