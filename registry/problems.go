package registry

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration file. It names where (file,
// line, column, field) and what to do, and never holds a secret value.
type Problem struct {
	File   string
	Line   int // 1-based; 0 when the problem concerns the whole file
	Column int // 1-based, in characters; 0 when unknown
	Field  string
	Msg    string
	// Rule names the check that failed, for SARIF and filtering (e.g.
	// "secret-exposed-to-steps"); "" for a problem in a configuration file.
	Rule string
	// Secrets are the secret names a RuleSecretExposed problem is about
	// ("*" for the whole secrets context); names, never values.
	Secrets []string
}

// String renders the problem as FILE:LINE:COL: FIELD: MSG.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a pair of configuration files. It is the
// error Load returns when the files are not valid; match it with errors.As.
type Problems []Problem

// Error implements error: one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by file (registry, policy, others in order of
// first appearance), then line and column, so output is stable.
func sortProblems(ps Problems, files ...string) {
	rank := func(f string) int {
		for i, x := range files {
			if x == f {
				return i
			}
		}
		return len(files)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if ra, rb := rank(a.File), rank(b.File); ra != rb {
			return ra < rb
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
