package lifecycle

import (
	"encoding/json"
	"time"

	"github.com/keylease/keylease/record"
)

// RecordSchema names the rotation record's format.
const RecordSchema = "keylease.rotation-record/v1"

// Step outcomes.
const (
	OutcomeDone    = "done"
	OutcomeResumed = "resumed"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
	OutcomePending = "pending"
	OutcomeManual  = "manual"
)

// Record is the rotation record: ids, times and outcomes, never a value.
type Record struct {
	Schema             string              `json:"schema"`
	KeyleaseVersion    string              `json:"keylease_version"`
	Run                record.Run          `json:"run"`
	Session            *record.Session     `json:"aws_session,omitempty"`
	Vendor             string              `json:"vendor"`
	Environment        string              `json:"environment"`
	Ref                string              `json:"ref"`
	Method             string              `json:"method"`
	RotationID         string              `json:"rotation_id,omitempty"`
	OldVersionID       string              `json:"old_version_id,omitempty"`
	NewVersionID       string              `json:"new_version_id,omitempty"`
	OldKeyID           string              `json:"old_key_id,omitempty"`
	NewKeyID           string              `json:"new_key_id,omitempty"`
	Validity           string              `json:"validity,omitempty"`
	PromotedAt         time.Time           `json:"promoted_at,omitzero"`
	RetirePendingUntil time.Time           `json:"retire_pending_until,omitzero"`
	PullRequest        string              `json:"pull_request,omitempty"`
	Resumed            bool                `json:"resumed,omitempty"`
	AlreadyRotated     bool                `json:"already_rotated,omitempty"`
	OrphansDeleted     int                 `json:"orphans_deleted,omitempty"`
	DryRun             bool                `json:"dry_run,omitempty"`
	Steps              []Step              `json:"steps"`
	Outcome            string              `json:"outcome"`
	ExitCode           int                 `json:"exit_code"`
	Verification       record.Verification `json:"verification"`
}

// Step is one step of the rotation as it happened.
type Step struct {
	Name    string    `json:"name"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
}

// WriteRecord seals rec (verification block, the lease's scan) and writes
// it to path exactly as the run record is written: mode 0600, never
// overwriting, an incident record instead when the scan finds anything.
func WriteRecord(path string, rec *Record, m Masker, now time.Time) error {
	rec.Schema = RecordSchema
	if rec.Steps == nil {
		rec.Steps = []Step{}
	}
	rec.Verification = sealedBy(m)
	return writeSealed(path, rec, m, now)
}

// sealedBy is the verification block of a record m scans.
func sealedBy(m Masker) record.Verification {
	return record.Verification{ExactForms: true, Detectors: append([]string{}, m.DetectorNames()...)}
}

// writeSealed is the one write path of every lifecycle record (rotation,
// revocation, incident): JSON, scanned by m, written like the run record.
func writeSealed(path string, rec any, m Masker, now time.Time) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err == nil {
		b = append(b, '\n')
		b, err = record.Check(b, 0, func(b []byte) []struct{} { return make([]struct{}, m.Scan(b)) })
	}
	return record.WriteChecked(path, b, err, now)
}
