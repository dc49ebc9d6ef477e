package lifecycle

import (
	"strings"
	"testing"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/internal/githubfake"
)

// auditIssues returns the audit issues of acme/app (not PRs).
func (w *auditWorld) auditIssues() []githubfake.Issue {
	w.gh.Lock()
	defer w.gh.Unlock()
	var out []githubfake.Issue
	for _, is := range w.gh.RepoState("acme", "app").Issues {
		for _, l := range is.Labels {
			if l == auditreport.IssueLabel && !is.IsPR {
				out = append(out, *is)
			}
		}
	}
	return out
}

// TestAuditIssueOpenUpdateClose: one issue across three runs: opened with
// the findings, updated in place when they change, closed by a clean run;
// its body never holds a value.
func TestAuditIssueOpenUpdateClose(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	o := w.options()
	o.Outputs.Issue = true

	if _, _, err := w.audit(o); err != nil {
		t.Fatal(err)
	}
	is := w.auditIssues()
	if len(is) != 1 || is[0].State != "open" || !strings.Contains(is[0].Body, "`leak-in-logs`") {
		t.Fatalf("after run 1: %+v", is)
	}
	num := is[0].Number
	w.check("issue body", []byte(is[0].Title+is[0].Body))

	// Run 2: the leaks are gone from GitHub (logs and artifacts deleted).
	w.gh.Lock()
	repo := w.gh.RepoState("acme", "app")
	repo.Runs = nil
	w.gh.Unlock()
	if _, _, err := w.audit(o); err != nil {
		t.Fatal(err)
	}
	is = w.auditIssues()
	if len(is) != 1 || is[0].Number != num || is[0].State != "open" || strings.Contains(is[0].Body, "`leak-in-logs`") || !strings.Contains(is[0].Body, "`secret-exposed-to-steps`") {
		t.Fatalf("after run 2 (want issue #%d updated in place): %+v", num, is)
	}
	w.check("issue body", []byte(is[0].Body))

	// Run 3: everything fixed.
	write(t, w.reg, auditRegistry[:strings.Index(auditRegistry, "  dev:")])
	w.gh.Lock()
	repo.Files["main"][".github/workflows/ci.yml"] = []byte("name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n")
	repo.Secrets = nil
	w.gh.Unlock()
	rep, code, err := w.audit(o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() || code != 0 {
		b, _ := rep.Marshal()
		t.Fatalf("run 3 not clean (exit %d):\n%s", code, b)
	}
	is = w.auditIssues()
	if len(is) != 1 || is[0].Number != num || is[0].State != "closed" {
		t.Fatalf("after run 3 (want #%d closed): %+v", num, is)
	}
}
