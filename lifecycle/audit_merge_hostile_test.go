package lifecycle

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/masking"
)

const mergeToken = "ghs_mergeHostileToken0123456789abcdefABCD"

// TestAuditMergeHostileNamesStayOnTheirLine: a shard report whose subjects
// and reasons hold a newline, a bare carriage return or a terminal escape
// (a job's or an artifact file's name comes from whoever opened a pull
// request) prints each on its own line: none can start a workflow command
// on the merge job's runner, which reads them on stderr.
func TestAuditMergeHostileNamesStayOnTheirLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rep := `{"schema":"keylease.audit-report/v1","shards":["1/1"],"repos":["acme/app"],"entries":[],` +
		`"findings":[{"id":"leak-in-logs","severity":"high","subject":"acme/app run 7 job x\n::set-output name=ok::1","detail":"d\r::add-mask::y"}],` +
		`"skipped":[{"check":"c","why":"w\n::error::skipped"}],` +
		`"unreached":[{"subject":"s\u2028::warning::u","why":"why\u001b[2J\n::notice::n"}]}`
	path := filepath.Join(dir, "shard-1.json")
	if err := os.WriteFile(path, []byte(rep), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	_, code, err := RunAuditMerge(context.Background(), []string{path}, masking.FingerprintList{}, AuditOutputs{ReportPath: filepath.Join(dir, "merged.json")},
		lease.IO{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": mergeToken}[k] }})
	if err != nil || code != 4 {
		t.Fatalf("merge: exit %d, %v; want 4 for the leak finding", code, err)
	}
	for _, line := range strings.FieldsFunc(stderr.String()+stdout.String(), func(r rune) bool { return r == '\n' || r == '\r' || r == '\u2028' }) {
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			t.Errorf("a name started a workflow command: %q", line)
		}
		if strings.ContainsRune(line, 0x1b) {
			t.Errorf("a terminal escape reached the output: %q", line)
		}
	}
	// A merge reads no value (nothing is leased): the token in the
	// environment is the one secret around.
	leakcheck.Assert(t, "output", append(stderr.Bytes(), stdout.Bytes()...), mergeToken)
}
