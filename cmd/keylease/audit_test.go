package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

func writeReport(t *testing.T, dir, name string, r *auditreport.Report) string {
	t.Helper()
	b, err := r.Marshal()
	testkit.Must(t, err)
	p := filepath.Join(dir, name)
	testkit.Must(t, os.WriteFile(p, b, 0o600))
	return p
}

// TestAuditCLI: usage errors exit 2 with what to do; audit merge combines
// shard reports and exits 0, 4 or 5 by --fail-on.
func TestAuditCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	low := writeReport(t, dir, "low.json", &auditreport.Report{Shards: []string{"1/2"}, Repos: []string{"o/a"},
		Findings: []auditreport.Finding{{ID: auditreport.RotationOverdue, Severity: auditreport.Low, Subject: "openai.dev"}}})
	med := writeReport(t, dir, "med.json", &auditreport.Report{Shards: []string{"2/2"}, Repos: []string{"o/b"},
		Findings: []auditreport.Finding{{ID: auditreport.VendorKeyInGitHub, Severity: auditreport.Medium, Subject: "repository o/b secret OPENAI_API_KEY"}}})
	leak := writeReport(t, dir, "leak.json", &auditreport.Report{Repos: []string{"o/c"},
		Findings: []auditreport.Finding{{ID: auditreport.LeakInLogs, Severity: auditreport.High, Subject: "o/c run 1 job 2 log"}}})
	bad := filepath.Join(dir, "bad.json")
	testkit.Must(t, os.WriteFile(bad, []byte(`{"schema":"keylease.scan/v1"}`), 0o600))
	out := filepath.Join(dir, "merged.json")
	key := "sk-proj-" + strings.Repeat("a1B2", 10) + "T3BlbkFJ" + strings.Repeat("c3D4", 10)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"bad shard", []string{"audit", "--shard", "4/3"}, exitConfig, "want I/N"},
		{"bad fail-on", []string{"audit", "--fail-on", "critical"}, exitConfig, "want low, medium or high"},
		{"issue with shard", []string{"audit", "--shard", "1/2", "--issue"}, exitConfig, "audit merge --issue"},
		{"key as flag", []string{"audit", "--org", key}, exitConfig, "looks like a key"},
		{"key as report path", []string{"audit", "--report", key}, exitConfig, "looks like a key"},
		{"merge nothing", []string{"audit", "merge"}, exitConfig, "needs the shard reports"},
		{"merge key as report path", []string{"audit", "merge", "--report", filepath.Join(dir, key), low}, exitConfig, "--report looks like a key"},
		{"merge line break in issue-repo", []string{"audit", "merge", "--issue", "--issue-repo", "o/r\n::error::x", low}, exitConfig, "--issue-repo holds a control character"},
		{"merge bad", []string{"audit", "merge", bad}, exitConfig, "keylease.audit-report/v1"},
		{"merge low", []string{"audit", "merge", "--report", out, low, med}, exitOK, "2 finding(s)"},
		{"merge fail-on medium", []string{"audit", "merge", "--fail-on", "medium", low, med}, 5, "medium vendor-key-in-github-secrets"},
		{"merge leak", []string{"audit", "merge", "--fail-on", "high", low, leak}, exitLeak, "high leak-in-logs"},
	}
	for _, tc := range tests {
		e, o, errb := testEnv(map[string]string{})
		code := realMain(context.Background(), tc.args, e)
		if code != tc.wantCode || !strings.Contains(errb.String()+o.String(), tc.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s%s", tc.name, code, tc.wantCode, tc.want, o.String(), errb.String())
		}
		leakcheck.Assert(t, tc.name+" stdout", o.Bytes(), key)
		leakcheck.Assert(t, tc.name+" stderr", errb.Bytes(), key)
	}
	if _, err := os.Lstat(filepath.Join(dir, key)); err == nil {
		t.Error("audit merge wrote a report named after a key")
	}
	b, err := os.ReadFile(out) //nolint:gosec // the test's own file
	testkit.Must(t, err)
	leakcheck.Assert(t, "merged report", b, key)
	m, err := auditreport.Read(b)
	if err != nil || len(m.Findings) != 2 || len(m.Shards) != 2 || len(m.Repos) != 2 {
		t.Fatalf("merged report: %v %+v", err, m)
	}
}
