package lifecycle

import (
	"strings"
	"testing"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/runscan"
)

// TestAuditOpensAZipInAnArtifact: an artifact that holds a zip (a test
// run's bundled logs) is opened as incident's run scan opens it; its
// compressed bytes hid the key from every detector.
func TestAuditOpensAZipInAnArtifact(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	inner := zipOf(t, map[string]string{"env.txt": "OPENAI_API_KEY=" + w.leaked + "\n"})
	w.gh.Lock()
	repo := w.gh.RepoState("acme", "app")
	repo.Logs[71] = []byte("clean\n")
	repo.Artifacts[72] = zipOf(t, map[string]string{"logs/bundle.zip": string(inner)})
	w.gh.Unlock()
	rep, _, err := w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		if f.ID == auditreport.LeakInArtifacts {
			got = append(got, f.Subject+": "+f.Detail)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "bundle.zip!env.txt") || !strings.Contains(got[0], "openai-project-key at line 1") {
		t.Fatalf("artifact findings %q, want the key in logs/bundle.zip!env.txt at line 1", got)
	}
}

// TestAuditRunsCapIsUnreached: GitHub lists at most 1,000 runs for a
// created filter; an audit window with that many is unreached (the older
// runs were never listed), not scanned clean, as in incident's run scan.
func TestAuditRunsCapIsUnreached(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	w.gh.Lock()
	repo := w.gh.RepoState("acme", "app")
	for i := len(repo.Runs); i < runscan.MaxListedRuns; i++ {
		repo.Runs = append(repo.Runs, int64(5000+i))
	}
	w.gh.Unlock()
	rep, _, err := w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range rep.Unreached {
		if strings.Contains(u.Subject, "acme/app") && strings.Contains(u.Why, "1000 runs") {
			return
		}
	}
	t.Fatalf("unreached %+v; want acme/app's runs at the 1000-run cap", rep.Unreached)
}
