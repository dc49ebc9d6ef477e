// Package record builds, verifies and writes the run record: the value-free
// JSON account of one lease (SL1, SL8).
//
// A record is never written unverified. Seal marshals it and hands the bytes
// to a scanner (masking.Scanner: every registered form of every leased value
// plus the vendor detectors); any finding withholds the record and leaves an
// incident record that holds the incident's type and time only.
package record

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keylease/keylease/detect"
)

// Schema identifies version 1 of the run record.
const Schema = "keylease.run-record/v1"

// IncidentSchema identifies an incident record.
const IncidentSchema = "keylease.incident/v1"

// IncidentRecordLeak is the incident type written when a run record failed
// its own verification.
const IncidentRecordLeak = "run-record-verification-failed"

// Record is one run record. Every field is metadata: refs, names, times and
// counts. There is deliberately no field that could carry a value, a token or
// a command line.
type Record struct {
	Schema          string       `json:"schema"`
	KeyleaseVersion string       `json:"keylease_version"`
	Run             Run          `json:"run"`
	Identity        *Identity    `json:"identity,omitempty"`
	Session         *Session     `json:"aws_session,omitempty"`
	Leases          []Lease      `json:"leases"`
	Command         *Command     `json:"command,omitempty"`
	Masking         Masking      `json:"masking"`
	Verification    Verification `json:"verification"`
}

// Run is the run context (GitHub Actions variables, or mode "local").
type Run struct {
	Mode              string `json:"mode"` // "github-actions" | "local"
	Repository        string `json:"repository,omitempty"`
	Workflow          string `json:"workflow,omitempty"`
	Job               string `json:"job,omitempty"`
	RunID             string `json:"run_id,omitempty"`
	RunAttempt        string `json:"run_attempt,omitempty"`
	Ref               string `json:"ref,omitempty"`
	SHA               string `json:"sha,omitempty"`
	Actor             string `json:"actor,omitempty"`
	Event             string `json:"event,omitempty"`
	RunnerEnvironment string `json:"runner_environment,omitempty"`
	RunnerOS          string `json:"runner_os,omitempty"`
}

// Identity is the verified OIDC identity: claims, never the token.
type Identity struct {
	Issuer         string    `json:"issuer"`
	Subject        string    `json:"subject"`
	Audience       string    `json:"audience"`
	JobWorkflowRef string    `json:"job_workflow_ref,omitempty"`
	Environment    string    `json:"environment,omitempty"`
	IssuedAt       time.Time `json:"issued_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// Session is the AWS session the values were read with.
type Session struct {
	Source      string    `json:"source"` // "oidc" | "aws-default"
	RoleARN     string    `json:"role_arn,omitempty"`
	SessionName string    `json:"session_name,omitempty"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
}

// Outcomes of a lease.
const (
	OutcomeLeased  = "leased"
	OutcomeRefused = "refused" // policy or registry said no
	OutcomeFailed  = "failed"  // the store could not deliver
)

// Lease is one leased (or refused) ref.
type Lease struct {
	Ref         string    `json:"ref"`
	Vendor      string    `json:"vendor,omitempty"`
	Environment string    `json:"environment"`
	Scope       []string  `json:"scope,omitempty"`
	EnvVar      string    `json:"env_var"`
	TTLSeconds  int64     `json:"ttl_seconds"`
	IssuedAt    time.Time `json:"issued_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	VersionID   string    `json:"version_id,omitempty"`
	Source      string    `json:"source,omitempty"` // the store when not Secrets Manager: env, vault, op, keychain
	KeyID       string    `json:"key_id,omitempty"` // the vendor's id of the key (JSON-form secrets, minted keys), never the key
	Outcome     string    `json:"outcome"`
	Error       string    `json:"error,omitempty"` // sanitized one-line reason when not leased

	// Mode is "minted" or "federated" ("" : stored). A minted lease names
	// what was created and deleted at the vendor; a federated one the OIDC
	// claims exchanged and the vendor token's expiry. Ids, names and times
	// only.
	Mode           string    `json:"mode,omitempty"`
	VendorID       string    `json:"vendor_id,omitempty"`   // minted: what was deleted (OpenAI service account, xAI key id)
	MintedName     string    `json:"minted_name,omitempty"` // minted: the vendor-side name (run id and expiry)
	DeletedAt      time.Time `json:"deleted_at,omitzero"`
	DeleteError    string    `json:"delete_error,omitempty"`    // sanitized: why the minted key could not be deleted
	TokenExpiresAt time.Time `json:"token_expires_at,omitzero"` // federated: the vendor token's own expiry
	OIDCSubject    string    `json:"oidc_subject,omitempty"`    // federated: the exchanged token's sub
	OIDCAudience   string    `json:"oidc_audience,omitempty"`   // federated: and its aud
}

// Command is how the child ended.
type Command struct {
	ExitCode      int   `json:"exit_code"`
	Signal        int   `json:"signal,omitempty"`
	DurationMS    int64 `json:"duration_ms"`
	LeaseExpired  bool  `json:"lease_expired"`
	DrainTimedOut bool  `json:"drain_timed_out,omitempty"`
}

// Masking holds the masking figures.
type Masking struct {
	Values              int   `json:"values"`
	Forms               int   `json:"forms"`
	RunnerRegistrations int   `json:"runner_registrations"`
	Redactions          int64 `json:"redactions"`
}

// Verification describes the scan the record passed before it was written.
type Verification struct {
	ExactForms bool     `json:"exact_forms"`
	Detectors  []string `json:"detectors"`
	Findings   int      `json:"findings"`
}

// LeakError reports that the record failed verification: nothing but an
// incident record was written.
type LeakError struct {
	Findings     int
	IncidentPath string // "" if even the incident could not be written
}

func (e *LeakError) Error() string {
	where := "no incident record could be written"
	if e.IncidentPath != "" {
		where = fmt.Sprintf("incident record %q", e.IncidentPath)
	}
	return fmt.Sprintf("run record verification found %d secret form(s): record withheld (%s); treat the leased keys as exposed: revoke and rotate them", e.Findings, where)
}

// Marshal encodes r as indented JSON ending in a newline.
func (r *Record) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode run record: %w", err)
	}
	return buf.Bytes(), nil
}

// Seal fills in the verification block, marshals r and scans the bytes. It
// returns the bytes only when scan found nothing; otherwise a *LeakError
// (IncidentPath unset) and no bytes. scan is typically masking.Scanner.Scan.
func Seal[F any](r *Record, detectors []string, scan func([]byte) []F) ([]byte, error) {
	r.Schema = Schema
	if r.Leases == nil {
		r.Leases = []Lease{}
	}
	r.Verification = Verification{ExactForms: true, Detectors: append([]string{}, detectors...), Findings: 0}
	if r.Verification.Detectors == nil {
		r.Verification.Detectors = []string{}
	}
	b, err := r.Marshal()
	if err != nil {
		return nil, err
	}
	return Check(b, valueLikeNames(r), scan)
}

// Check is the verification every record passes before it is written (the
// run record here, the lifecycle commands' records elsewhere): b is
// returned only when scan finds nothing and extra, the caller's own count
// of value-like names, is 0; otherwise b is wiped and a *LeakError returned.
func Check[F any](b []byte, extra int, scan func([]byte) []F) ([]byte, error) {
	if n := len(scan(b)) + extra; n > 0 {
		clear(b)
		return nil, &LeakError{Findings: n}
	}
	return b, nil
}

// valueLikeNames counts the user-given names in r's leases (ref, vendor,
// environment, scope, variable) that look like a secret value: a key pasted
// as --vendor reaches the record as a refused lease's vendor, and the
// caller's scanner may not know its shape (an AWS secret access key has no
// prefix). A name is never a value, so such a record is withheld.
func valueLikeNames(r *Record) int {
	n := 0
	for _, l := range r.Leases {
		for _, s := range append([]string{l.Ref, l.Vendor, l.Environment, l.EnvVar}, l.Scope...) {
			if _, ok := detect.Name(s); ok {
				n++
			}
		}
	}
	return n
}

// Write seals r and writes it to path (mode 0600, never overwriting). On a
// finding it writes an incident record beside path instead and returns a
// *LeakError naming it.
func Write[F any](path string, r *Record, detectors []string, scan func([]byte) []F, now time.Time) error {
	b, err := Seal(r, detectors, scan)
	return WriteChecked(path, b, err, now)
}

// WriteChecked writes what Seal or Check returned: b to path, or on a
// *LeakError an incident record beside path (naming it in the error).
func WriteChecked(path string, b []byte, err error, now time.Time) error {
	var le *LeakError
	if errors.As(err, &le) {
		ip := strings.TrimSuffix(path, ".json") + ".incident.json"
		if werr := WriteFile(ip, Incident(IncidentRecordLeak, now)); werr == nil {
			le.IncidentPath = ip
		}
		return le
	}
	if err != nil {
		return err
	}
	return WriteFile(path, b)
}

// Incident returns an incident record: schema, type and time, nothing else,
// because anything taken from the run could be what leaked.
func Incident(typ string, at time.Time) []byte {
	b, _ := json.MarshalIndent(struct {
		Schema string    `json:"schema"`
		Type   string    `json:"type"`
		Time   time.Time `json:"time"`
	}{IncidentSchema, typ, at.UTC().Truncate(time.Second)}, "", "  ")
	return append(b, '\n')
}

// WriteFile writes b to path with mode 0600, creating the directory (0700).
// It refuses to replace an existing file or follow a planted symlink.
func WriteFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("run record directory %q: %w; set --record to a writable path", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // path is the operator's --record or RUNNER_TEMP
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("run record %q already exists; choose another --record path", path)
		}
		return fmt.Errorf("run record %q: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write run record %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write run record %q: %w", path, err)
	}
	return nil
}

// DefaultPath is where a record goes without --record: $RUNNER_TEMP/keylease/
// (else the OS temp dir), named after the run and a random suffix so that two
// keylease steps in one job never collide.
func DefaultPath(getenv func(string) string) string {
	dir := getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "keylease-record-"
	if id := safeName(getenv("GITHUB_RUN_ID")); id != "" {
		name += id + "-" + safeName(getenv("GITHUB_RUN_ATTEMPT")) + "-"
	}
	return filepath.Join(dir, "keylease", name+hex.EncodeToString(rnd[:])+".json")
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}

// ErrNotRecord is wrapped by every Decode error.
var ErrNotRecord = errors.New("not a keylease run record")

// Decode parses a run record strictly: unknown fields and another schema are
// errors (a record that grew a field is not one this version vouches for).
// Its errors are fixed texts with byte offsets: they never quote the input,
// because a record that fails verification may hold the very key a scan is
// looking for, and a field name may hold a workflow command.
func Decode(b []byte) (*Record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, decodeError(err, dec.InputOffset())
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object at byte %d; expected one %s object", ErrNotRecord, dec.InputOffset(), Schema)
	}
	switch r.Schema {
	case Schema:
	case IncidentSchema:
		return nil, fmt.Errorf("%w: this is an incident record (%s), written instead of a run record that failed verification", ErrNotRecord, IncidentSchema)
	case "":
		return nil, fmt.Errorf("%w: the schema field is missing or empty, want %s", ErrNotRecord, Schema)
	default:
		return nil, fmt.Errorf("%w: the schema field holds another schema (not shown), want %s", ErrNotRecord, Schema)
	}
	return &r, nil
}

// decodeError names what went wrong and where, never what was there.
func decodeError(err error, at int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: not valid JSON at byte %d", ErrNotRecord, syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("%w: a field has the wrong type at byte %d", ErrNotRecord, typ.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the JSON ends early (byte %d)", ErrNotRecord, at)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		// The decoder names the field; the name is not repeated.
		return fmt.Errorf("%w: an unknown field (name not shown) near byte %d; %s has a fixed set of fields", ErrNotRecord, at, Schema)
	}
	return fmt.Errorf("%w: not valid %s JSON near byte %d", ErrNotRecord, Schema, at)
}
