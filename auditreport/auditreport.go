// Package auditreport is the keylease.audit-report/v1 document that
// keylease audit writes: findings with a stable id, a severity and a
// value-free subject, the checks skipped (and why) and the subjects not
// reached. It merges shard reports, renders the job summary and the audit
// issue, writes SARIF through scanreport, and maps a report to an exit code.
// Nothing here reads a secret: a report holds names, ids and places only.
package auditreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Schema names the JSON document; it changes when a field changes meaning.
const Schema = "keylease.audit-report/v1"

// Finding ids, stable across releases.
const (
	RotationOverdue         = "rotation-overdue"
	SecretMissing           = "secret-missing"
	RevokedStillCurrent     = "revoked-still-current"
	AccessedAfterRevocation = "accessed-after-revocation"
	OldKeyNotRetired        = "old-key-not-retired"
	OrphanedMintedKey       = "orphaned-minted-key"
	RevokedRefInWorkflow    = "revoked-ref-in-workflow"
	SecretExposedToSteps    = "secret-exposed-to-steps"
	VendorKeyInGitHub       = "vendor-key-in-github-secrets"
	LeakInLogs              = "leak-in-logs"
	LeakInArtifacts         = "leak-in-artifacts"
)

// Severity is low, medium or high.
type Severity string

// Severities, lowest first.
const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high"
)

func (s Severity) rank() int {
	switch s {
	case Low:
		return 1
	case Medium:
		return 2
	case High:
		return 3
	}
	return 0
}

// ParseSeverity reads low, medium or high.
func ParseSeverity(s string) (Severity, error) {
	if v := Severity(s); v.rank() > 0 {
		return v, nil
	}
	return "", fmt.Errorf("severity %q: want low, medium or high", s)
}

// Rules is every finding id with its default severity and what to do.
var Rules = []Rule{
	{RotationOverdue, Low, "The entry's last_rotated plus the policy's rotation_days has passed (or it was never rotated). Run keylease rotate --vendor V --env E (prod entries are medium)."},
	{SecretMissing, Medium, "The registry entry has no Secrets Manager secret, or no AWSCURRENT version, behind it. Create the secret or remove the entry."},
	{RevokedStillCurrent, High, "The registry marks the entry revoked, but its AWSCURRENT version is not a revocation tombstone: leases would still hand the key out. Run keylease revoke for the entry."},
	{AccessedAfterRevocation, High, "A version that held the revoked key was read on or after revoked_at (Secrets Manager's per-version LastAccessedDate, day resolution). Find the reader in CloudTrail and make sure the key is dead at the vendor."},
	{OldKeyNotRetired, Medium, "The AWSPREVIOUS key of a keylease rotation is still valid at the vendor past its retire time. The audit performs the pending retirement; check the record if it could not."},
	{OrphanedMintedKey, Medium, "A vendor key or service account keylease minted for a lease (named by its run id and expiry) outlived its lease: the run crashed before deleting it. Delete it at the vendor."},
	{RevokedRefInWorkflow, Medium, "A workflow step still leases a registry entry that is revoked. Point it at the replacement entry."},
	{SecretExposedToSteps, High, "A workflow hands a GitHub secret to a step that is not keylease. Store the key in Secrets Manager and lease it to the one command that needs it."},
	{VendorKeyInGitHub, Medium, "A repository, organization or environment Actions secret has a vendor-key name: a long-lived key that bypasses keylease. Move it to Secrets Manager, lease it, and delete the GitHub secret."},
	{LeakInLogs, High, "A recent run's job log holds a vendor key or a fingerprinted value. Revoke the key now, then delete the run's logs."},
	{LeakInArtifacts, High, "A recent run's artifact holds a vendor key or a fingerprinted value. Revoke the key now, then delete the artifact."},
}

// Rule is a finding id, its default severity and its advice.
type Rule struct {
	ID       string
	Severity Severity
	Help     string
}

// DefaultSeverity is id's severity before any policy raises it; "" for an
// unknown id.
func DefaultSeverity(id string) Severity {
	for _, r := range Rules {
		if r.ID == id {
			return r.Severity
		}
	}
	return ""
}

// Raise is the higher of the default and a requested severity: a policy
// may raise a finding's severity, never lower it.
func Raise(def, want Severity) Severity {
	if want.rank() > def.rank() {
		return want
	}
	return def
}

// Finding is one thing the audit found. Subject names it (repo, secret
// name, key id, file:line), never a value.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Subject  string   `json:"subject"`
	File     string   `json:"file,omitempty"` // workflow findings: the file in Repo
	Line     int      `json:"line,omitempty"`
	Column   int      `json:"column,omitempty"`
	Repo     string   `json:"repo,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// Skipped is a check that did not run, and why (never a pass).
type Skipped struct {
	Check string `json:"check"`
	Why   string `json:"why"`
}

// Unreached is a subject the audit could not read (never a pass).
type Unreached struct {
	Subject string `json:"subject"`
	Why     string `json:"why"`
}

// Report is one audit run, or the merge of several shards' runs.
type Report struct {
	Schema    string      `json:"schema"`
	Shards    []string    `json:"shards,omitempty"` // "I/N" of each shard merged in
	Repos     []string    `json:"repos"`            // repositories audited
	Entries   []string    `json:"entries"`          // registry entries audited (vendor.env)
	Findings  []Finding   `json:"findings"`
	Skipped   []Skipped   `json:"skipped"`
	Unreached []Unreached `json:"unreached"`
}

// Normalize sorts every list and drops exact duplicates, so that the same
// audit gives the same bytes however its work was ordered or sharded.
func (r *Report) Normalize() {
	r.Schema = Schema
	r.Shards = sortUniq(r.Shards, strings.Compare)
	r.Repos = sortUniq(r.Repos, strings.Compare)
	r.Entries = sortUniq(r.Entries, strings.Compare)
	r.Findings = sortUniq(r.Findings, func(a, b Finding) int {
		return cmpAll(strings.Compare(a.ID, b.ID), strings.Compare(a.Subject, b.Subject), strings.Compare(a.Repo, b.Repo),
			strings.Compare(a.File, b.File), a.Line-b.Line, a.Column-b.Column, strings.Compare(a.Detail, b.Detail), strings.Compare(string(a.Severity), string(b.Severity)))
	})
	r.Skipped = sortUniq(r.Skipped, func(a, b Skipped) int {
		return cmpAll(strings.Compare(a.Check, b.Check), strings.Compare(a.Why, b.Why))
	})
	r.Unreached = sortUniq(r.Unreached, func(a, b Unreached) int {
		return cmpAll(strings.Compare(a.Subject, b.Subject), strings.Compare(a.Why, b.Why))
	})
}

func cmpAll(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

func sortUniq[T comparable](s []T, cmp func(a, b T) int) []T {
	if s == nil {
		s = []T{}
	}
	slices.SortFunc(s, cmp)
	return slices.Compact(s)
}

// Merge combines shard reports into one. Registry findings (no repo) are
// the same in every shard and appear once.
func Merge(rs ...*Report) *Report {
	out := &Report{}
	for _, r := range rs {
		out.Shards = append(out.Shards, r.Shards...)
		out.Repos = append(out.Repos, r.Repos...)
		out.Entries = append(out.Entries, r.Entries...)
		out.Findings = append(out.Findings, r.Findings...)
		out.Skipped = append(out.Skipped, r.Skipped...)
		out.Unreached = append(out.Unreached, r.Unreached...)
	}
	out.Unreached = append(out.Unreached, missingShards(out.Shards)...)
	out.Normalize()
	return out
}

// missingShards is what a merge of shards lacks: a shard of I/N never
// merged in audited none of its repositories, so it is unreached (not a
// pass), as are shards of different counts, which split the repositories
// differently.
func missingShards(shards []string) []Unreached {
	if len(shards) == 0 {
		return nil
	}
	have := map[int]bool{}
	count := 0
	for _, sh := range shards {
		i, n, ok := ParseShard(sh)
		if !ok || (count != 0 && n != count) {
			return []Unreached{{Subject: "shards " + strings.Join(shards, ", "), Why: "reports of different shard counts were merged: audit again with one --shard I/N count"}}
		}
		count = n
		have[i] = true
	}
	var out []Unreached
	for i := 1; i <= count; i++ {
		if !have[i] {
			out = append(out, Unreached{Subject: fmt.Sprintf("shard %d/%d", i, count), Why: "no report of this shard was merged: its repositories were not audited"})
		}
	}
	return out
}

// Read parses a report, refusing unknown fields and other schemas.
func Read(b []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a %s report: %w", Schema, jsonErr(err))
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("schema %q: want %s", clip(r.Schema), Schema)
	}
	for i, f := range r.Findings {
		if DefaultSeverity(f.ID) == "" || f.Severity.rank() == 0 {
			return nil, fmt.Errorf("finding id %q with severity %q: not an audit finding", clip(f.ID), clip(string(f.Severity)))
		}
		// A policy raises a severity, never lowers it: a report saying
		// less is read at the default.
		r.Findings[i].Severity = Raise(DefaultSeverity(f.ID), f.Severity)
	}
	for _, sh := range r.Shards {
		if _, _, ok := ParseShard(sh); !ok {
			return nil, fmt.Errorf("shard %q: want I/N with 1 <= I <= N <= %d", clip(sh), MaxShards)
		}
	}
	r.Normalize()
	return &r, nil
}

// MaxShards is the most shards an audit may be split into.
const MaxShards = 256

// ParseShard reads "I/N", 1 <= I <= N <= MaxShards.
func ParseShard(s string) (i, n int, ok bool) {
	is, ns, cut := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	return i, n, cut && err1 == nil && err2 == nil && i >= 1 && i <= n && n <= MaxShards && s == strconv.Itoa(i)+"/"+strconv.Itoa(n)
}

// jsonErr keeps a decode error's position and field, not the text it read.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %s has the wrong type", te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return errors.New("unknown field")
	}
	return errors.New("invalid JSON")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Marshal is the report as indented JSON (Normalize first).
func (r *Report) Marshal() ([]byte, error) {
	r.Normalize()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrValueInReport is returned when a scanner finds a value in what would
// be written: nothing is written.
var ErrValueInReport = errors.New("the audit output would contain a secret value; nothing was written")

// Scanner finds secret values in bytes (the lease's record scan).
type Scanner interface {
	Scan(b []byte) int
}

// WriteScanned writes b to w only if sc finds nothing in it.
func WriteScanned(w io.Writer, b []byte, sc Scanner) error {
	if sc != nil && sc.Scan(b) > 0 {
		return ErrValueInReport
	}
	_, err := w.Write(b)
	return err
}

// Exit codes.
const (
	ExitClean    = 0
	ExitLeak     = 4
	ExitFindings = 5
)

// ExitCode is 4 when any leak finding is present, 5 when another finding is
// at or above failOn or anything was unreached (not reached is not passed),
// else 0.
func (r *Report) ExitCode(failOn Severity) int {
	code := ExitClean
	if len(r.Unreached) > 0 {
		code = ExitFindings
	}
	for _, f := range r.Findings {
		if f.ID == LeakInLogs || f.ID == LeakInArtifacts {
			return ExitLeak
		}
		if f.Severity.rank() >= failOn.rank() {
			code = ExitFindings
		}
	}
	return code
}

// Clean is a report with no finding and nothing unreached.
func (r *Report) Clean() bool { return len(r.Findings) == 0 && len(r.Unreached) == 0 }
