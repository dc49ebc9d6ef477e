package auditreport

import (
	"strings"
	"testing"
)

// TestMarkdownNamesAreInert: names GitHub renders in the issue and the job
// summary (a job's name, an artifact's file, a workflow path, all written
// by whoever pushes a branch or opens a pull request) cannot hide rows
// (an HTML comment), add HTML or images, link, or mention anyone: every
// cell is a code span, whose fence is longer than any run of backticks in
// the name.
func TestMarkdownNamesAreInert(t *testing.T) {
	t.Parallel()
	hostile := []string{
		"job <!-- the rows below are hidden",
		"<img src=https://evil.example/p.png> <details><summary>x</summary>",
		"[click](https://evil.example) ![i](https://evil.example/i.png) @acme/security-team #1",
		"a `code` and ``` fence ` end`",
	}
	r := &Report{}
	for _, h := range hostile {
		r.Findings = append(r.Findings, Finding{ID: LeakInLogs, Severity: High, Subject: h, Detail: h})
	}
	r.Unreached = []Unreached{{Subject: hostile[0], Why: hostile[1]}}
	r.Skipped = []Skipped{{Check: hostile[2], Why: hostile[3]}}
	r.Normalize()
	md := r.Markdown()
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| severity |") || strings.HasPrefix(line, "| subject |") || strings.HasPrefix(line, "| check |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		for _, c := range cells {
			if c == string(High) || c == "`"+LeakInLogs+"`" {
				continue
			}
			if !inertCodeSpan(c) {
				t.Errorf("cell %q is not one code span", c)
			}
		}
	}
}

// inertCodeSpan reports whether c is one CommonMark code span: a run of n
// backticks, content with no run of exactly n backticks, the same run.
func inertCodeSpan(c string) bool {
	n := len(c) - len(strings.TrimLeft(c, "`"))
	if n == 0 || len(c) < 2*n || !strings.HasSuffix(c, strings.Repeat("`", n)) {
		return false
	}
	inner := c[n : len(c)-n]
	for _, run := range strings.FieldsFunc(inner, func(r rune) bool { return r != '`' }) {
		if len(run) == n {
			return false
		}
	}
	return !strings.HasPrefix(inner, "`") && !strings.HasSuffix(inner, "`")
}

// TestReadRefusesForgedShardsAndLoweredSeverity: a shard report read for a
// merge cannot put text in the summary's shard list, and cannot lower a
// finding below its default severity (a policy only raises).
func TestReadRefusesForgedShardsAndLoweredSeverity(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"<!--", "0/4", "5/4", "1/4/2", "a/b", "1/999"} {
		b := `{"schema":"keylease.audit-report/v1","shards":["` + s + `"]}`
		if _, err := Read([]byte(b)); err == nil {
			t.Errorf("Read accepted the shard %q", s)
		}
	}
	r, err := Read([]byte(`{"schema":"keylease.audit-report/v1","findings":[{"id":"leak-in-logs","severity":"low","subject":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Findings[0].Severity != High {
		t.Errorf("a leak read as %s, want its default high", r.Findings[0].Severity)
	}
}

// TestMergeMissingShardIsUnreached: merging 1/4, 2/4 and 2/4 again (3/4 and
// 4/4 never came) is not a clean audit: each missing shard is unreached,
// as are shards of different counts.
func TestMergeMissingShardIsUnreached(t *testing.T) {
	t.Parallel()
	a, b := &Report{Shards: []string{"1/4"}}, &Report{Shards: []string{"2/4"}}
	m := Merge(a, b, b)
	if m.Clean() || m.ExitCode(High) != ExitFindings {
		t.Fatalf("a merge missing two shards is clean: %+v", m)
	}
	var got []string
	for _, u := range m.Unreached {
		got = append(got, u.Subject)
	}
	if strings.Join(got, ",") != "shard 3/4,shard 4/4" {
		t.Errorf("unreached %q, want shards 3/4 and 4/4", got)
	}
	if all := Merge(&Report{Shards: []string{"1/2"}}, &Report{Shards: []string{"2/2"}}); !all.Clean() {
		t.Errorf("every shard merged is not clean: %+v", all.Unreached)
	}
	if mixed := Merge(&Report{Shards: []string{"1/2"}}, &Report{Shards: []string{"2/3"}}); mixed.Clean() {
		t.Error("shards of different counts merged clean")
	}
}
