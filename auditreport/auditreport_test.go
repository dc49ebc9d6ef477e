package auditreport

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	low := Finding{ID: RotationOverdue, Severity: Low, Subject: "openai.dev"}
	med := Finding{ID: SecretMissing, Severity: Medium, Subject: "openai.stage"}
	leak := Finding{ID: LeakInArtifacts, Severity: High, Subject: "acme/app run 1"}
	for _, tc := range []struct {
		fs     []Finding
		failOn Severity
		want   int
	}{
		{nil, Low, 0},
		{[]Finding{low}, High, 0},
		{[]Finding{low}, Medium, 0},
		{[]Finding{low}, Low, 5},
		{[]Finding{med}, Medium, 5},
		{[]Finding{med}, High, 0},
		{[]Finding{low, leak}, High, 4},
		{[]Finding{leak}, Low, 4},
	} {
		r := &Report{Findings: tc.fs}
		if got := r.ExitCode(tc.failOn); got != tc.want {
			t.Errorf("%v at --fail-on %s: exit %d, want %d", tc.fs, tc.failOn, got, tc.want)
		}
	}
	unreached := &Report{Unreached: []Unreached{{Subject: "o/a workflow runs", Why: "deadline"}}}
	if unreached.ExitCode(High) != ExitFindings || unreached.Clean() {
		t.Error("a report with an unreached subject passed")
	}
}

// TestRaiseNeverLowers: a policy may raise a severity, never lower it.
func TestRaiseNeverLowers(t *testing.T) {
	t.Parallel()
	if Raise(High, Low) != High || Raise(Low, Medium) != Medium || Raise(Medium, "") != Medium {
		t.Fatal("Raise lowered or ignored a severity")
	}
	want := map[string]Severity{LeakInLogs: High, LeakInArtifacts: High, AccessedAfterRevocation: High, RevokedStillCurrent: High, SecretExposedToSteps: High,
		VendorKeyInGitHub: Medium, RevokedRefInWorkflow: Medium, OldKeyNotRetired: Medium, OrphanedMintedKey: Medium, SecretMissing: Medium, RotationOverdue: Low}
	if len(Rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(Rules), len(want))
	}
	for id, s := range want {
		if DefaultSeverity(id) != s {
			t.Errorf("%s default %s, want %s", id, DefaultSeverity(id), s)
		}
	}
}

// TestMergeAndRead: merging shards dedups what every shard reports (the
// skipped secrets check) and the result reads back byte-identical.
func TestMergeAndRead(t *testing.T) {
	t.Parallel()
	a := &Report{Shards: []string{"1/2"}, Repos: []string{"o/b"}, Findings: []Finding{{ID: SecretMissing, Severity: Medium, Subject: "x"}},
		Skipped: []Skipped{{Check: VendorKeyInGitHub, Why: "403"}}}
	b := &Report{Shards: []string{"2/2"}, Repos: []string{"o/a"}, Skipped: []Skipped{{Check: VendorKeyInGitHub, Why: "403"}},
		Unreached: []Unreached{{Subject: "o/a runs", Why: "budget"}}}
	m := Merge(a, b)
	if len(m.Repos) != 2 || m.Repos[0] != "o/a" || len(m.Skipped) != 1 || len(m.Findings) != 1 || len(m.Unreached) != 1 {
		t.Fatalf("merged %+v", m)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Marshal()
	if !bytes.Equal(out, again) {
		t.Fatalf("not stable:\n%s\n%s", out, again)
	}
	for _, bad := range []string{`{"schema":"other/v1"}`, `{"schema":"keylease.audit-report/v1","extra":1}`,
		`{"schema":"keylease.audit-report/v1","findings":[{"id":"made-up","severity":"high","subject":"x"}]}`} {
		if _, err := Read([]byte(bad)); err == nil {
			t.Errorf("Read accepted %s", bad)
		}
	}
}

func TestMarkdownCells(t *testing.T) {
	t.Parallel()
	r := &Report{Findings: []Finding{{ID: SecretMissing, Severity: Medium, Subject: "a|b\nc"}}}
	md := r.Markdown()
	if !strings.Contains(md, `a\|b c`) {
		t.Fatalf("cell not escaped:\n%s", md)
	}
	if !(&Report{}).Clean() || !strings.Contains((&Report{}).Markdown(), "Nothing found") {
		t.Fatal("an empty report is not clean")
	}
}

// TestIssueBodyFitsGitHub: an org's worth of findings is cut at a row to
// stay under GitHub's issue size limit, saying how many rows are left out.
func TestIssueBodyFitsGitHub(t *testing.T) {
	t.Parallel()
	r := &Report{}
	for i := range 3000 {
		r.Findings = append(r.Findings, Finding{ID: VendorKeyInGitHub, Severity: Medium, Subject: fmt.Sprintf("repository acme/service-%04d secret OPENAI_API_KEY", i)})
	}
	body := r.IssueBody(MaxIssueBody)
	if len(body) > MaxIssueBody || !strings.Contains(body, "more row(s) are not shown") {
		t.Fatalf("body %d bytes, tail %q", len(body), body[len(body)-120:])
	}
	if strings.Count(body, "\n| medium |")+countMore(body) != 3000 {
		t.Fatalf("rows shown plus rows counted as left out is not 3000")
	}
	if small := (&Report{Findings: r.Findings[:2]}).IssueBody(MaxIssueBody); small != (&Report{Findings: r.Findings[:2]}).Markdown() {
		t.Fatal("a small body was changed")
	}
}

func countMore(body string) int {
	i := strings.LastIndex(body, "… ")
	var n int
	_, _ = fmt.Sscanf(body[i+len("… "):], "%d", &n)
	return n
}
