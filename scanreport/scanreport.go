// Package scanreport writes the findings of keylease scan (and the problems
// of keylease check) as text, versioned JSON or SARIF 2.1.0, and reads a
// previous JSON or SARIF report back as a baseline. A finding names a place
// and a detector, never the matched text: reports are safe to upload, and a
// baseline suppresses by location and detector, never by value.
package scanreport

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Schema names the JSON report format; it changes when a field changes
// meaning.
const Schema = "keylease.scan/v1"

// Finding is one hit, by place and detector only.
type Finding struct {
	// Commit is the commit a blob first appears in (git scans), else "".
	Commit string `json:"commit,omitempty"`
	// Path is the file, "archive!entry" inside a zip, or the blob's path.
	Path string `json:"path"`
	// Line and Column are 1-based; Column counts Unicode code points.
	Line   int `json:"line"`
	Column int `json:"column"`
	// Rule is the detector's id (e.g. "openai-project-key", "fingerprint").
	Rule string `json:"rule"`
	// Ref is the registry ref a fingerprint belongs to, else "".
	Ref string `json:"ref,omitempty"`
	// Message, when set, replaces the rule's message (check's problems).
	Message string `json:"message,omitempty"`
}

// Location is where a finding is, as text: "[commit:]path:line:col".
func (f Finding) Location() string {
	s := f.Path + ":" + strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column)
	if f.Commit != "" {
		s = f.Commit + ":" + s
	}
	return s
}

// Key identifies a finding for baselines and code scanning: a digest of its
// location and rule. It is computed from neither the matched text nor its
// hash, so a baseline or an uploaded report holds nothing of a value.
func (f Finding) Key() string {
	h := sha256.New()
	for _, s := range []string{f.Commit, f.Path, strconv.Itoa(f.Line), strconv.Itoa(f.Column), f.Rule} {
		h.Write([]byte(strconv.Itoa(len(s)))) // length-prefixed: fields cannot run into each other
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Rule describes a detector for SARIF's rule table.
type Rule struct {
	ID   string
	Help string
}

// Report is the outcome of one scan or check.
type Report struct {
	Tool     string    // "keylease scan" or "keylease check"
	Version  string    // keylease's version
	Rules    []Rule    // every detector that ran, sorted by id
	Findings []Finding // unsuppressed, in a deterministic order
	// Suppressed counts findings a baseline knew.
	Suppressed int
	// Advice follows every scan finding's message: what to do about it.
	Advice string
}

// Sort orders findings by commit, path, line, column and rule, so output
// does not depend on the order files were read in.
func Sort(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if c := strings.Compare(a.Commit, b.Commit); c != 0 {
			return c
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Column != b.Column {
			return a.Column - b.Column
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}

// Baseline is the set of finding keys a previous report held.
type Baseline map[string]bool

// Filter returns the findings b does not know and how many it suppressed.
func (b Baseline) Filter(fs []Finding) (kept []Finding, suppressed int) {
	for _, f := range fs {
		if b[f.Key()] {
			suppressed++
			continue
		}
		kept = append(kept, f)
	}
	return kept, suppressed
}

func (r *Report) message(f Finding) string {
	what := f.Rule
	if f.Ref != "" {
		what += " (" + f.Ref + ")"
	}
	if f.Message != "" {
		return f.Message
	}
	msg := "credential found by detector " + what
	if r.Advice != "" {
		msg += "; " + r.Advice
	}
	return msg
}

// Summary is the closing line of a text report.
func (r *Report) Summary() string {
	s := fmt.Sprintf("%s: %d finding(s)", r.Tool, len(r.Findings))
	if len(r.Findings) == 0 {
		s = r.Tool + ": no findings"
	}
	if r.Suppressed > 0 {
		s += fmt.Sprintf(", %d suppressed by the baseline", r.Suppressed)
	}
	return s
}
