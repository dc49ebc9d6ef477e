package auditreport

import (
	"fmt"
	"io"
	"strings"

	"github.com/keylease/keylease/scanreport"
)

// IssueLabel labels the one audit issue a repository carries.
const IssueLabel = "keylease-audit"

// IssueTitle is the audit issue's title.
const IssueTitle = "keylease audit: findings"

// Markdown is the job summary and the issue body: counts, then one table
// row per finding, then what was skipped or unreached.
func (r *Report) Markdown() string {
	var b strings.Builder
	counts := map[Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	fmt.Fprintf(&b, "## keylease audit\n\n%d finding(s): %d high, %d medium, %d low; %d repositories, %d registry entries audited",
		len(r.Findings), counts[High], counts[Medium], counts[Low], len(r.Repos), len(r.Entries))
	if len(r.Shards) > 0 {
		fmt.Fprintf(&b, " (shards %s)", strings.Join(r.Shards, ", "))
	}
	b.WriteString(".\n\n")
	if len(r.Findings) > 0 {
		b.WriteString("| severity | id | subject | detail |\n|---|---|---|---|\n")
		for _, s := range []Severity{High, Medium, Low} {
			for _, f := range r.Findings {
				if f.Severity == s {
					fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", f.Severity, f.ID, cell(f.Subject), cell(f.Detail))
				}
			}
		}
		b.WriteString("\n")
	}
	if len(r.Unreached) > 0 {
		b.WriteString("### Not reached (not a pass)\n\n| subject | why |\n|---|---|\n")
		for _, u := range r.Unreached {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(u.Subject), cell(u.Why))
		}
		b.WriteString("\n")
	}
	if len(r.Skipped) > 0 {
		b.WriteString("### Skipped checks (not a pass)\n\n| check | why |\n|---|---|\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(s.Check), cell(s.Why))
		}
		b.WriteString("\n")
	}
	if r.Clean() {
		b.WriteString("Nothing found.\n")
	}
	return b.String()
}

// MaxIssueBody keeps an issue body under GitHub's 65,536-character limit.
const MaxIssueBody = 60000

// IssueBody is Markdown cut to at most limit bytes at a row boundary, with a
// line saying how many rows were left out (the report has them all).
func (r *Report) IssueBody(limit int) string {
	md := r.Markdown()
	if len(md) <= limit {
		return md
	}
	lines := strings.SplitAfter(md, "\n")
	var b strings.Builder
	kept := 0
	for _, l := range lines {
		if b.Len()+len(l) > limit-200 {
			break
		}
		b.WriteString(l)
		kept++
	}
	rows := 0
	for _, l := range lines[kept:] {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| severity |") && !strings.HasPrefix(l, "| subject |") && !strings.HasPrefix(l, "| check |") {
			rows++
		}
	}
	fmt.Fprintf(&b, "\n… %d more row(s) are not shown here (GitHub's issue size limit): see the keylease.audit-report/v1 report of this run.\n", rows)
	return b.String()
}

// cell is s as one table cell on one row, inert: a code span, so that a
// name from a repository (a job's name, an artifact's file, a workflow
// path: anyone who pushes a branch writes them) renders as text. Outside
// one, GitHub would render its HTML (an "<!--" hides every row after it),
// images, links, @mentions and #references. The fence is one backtick
// longer than the longest run in s, and a space pads s from it, as
// CommonMark's code spans allow; "|" is escaped, which GitHub's tables
// honour inside a code span too.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// WriteSARIF writes the findings that have a place in a file (workflow
// findings with file:line, registry findings at their entry's line) as a
// SARIF 2.1.0 log for code scanning; the others (secret names, logs,
// artifacts) have no file to point at and live in the JSON report and the
// issue. Code scanning shows a log in one repository: findings in another
// repository than repo ("" for the local checkout only) are left out.
func (r *Report) WriteSARIF(w io.Writer, version, repo string) error {
	rep := &scanreport.Report{Tool: "keylease audit", Version: version}
	for _, rule := range Rules {
		rep.Rules = append(rep.Rules, scanreport.Rule{ID: rule.ID, Help: rule.Help})
	}
	for _, f := range r.Findings {
		if f.File == "" || (f.Repo != "" && f.Repo != repo) {
			continue
		}
		msg := f.Severity.String() + ": " + f.Subject
		if f.Detail != "" {
			msg += ": " + f.Detail
		}
		rep.Findings = append(rep.Findings, scanreport.Finding{Path: f.File, Line: max(f.Line, 1), Column: max(f.Column, 1), Rule: f.ID, Message: msg})
	}
	scanreport.Sort(rep.Findings)
	return rep.WriteSARIF(w)
}

func (s Severity) String() string { return string(s) }
