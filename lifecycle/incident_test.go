package lifecycle

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/vendorapi"
)

const incidentGHToken = "ghs_incidentTestToken0123456789abcdefABCD"

// callLog records the order of calls across emulators.
type callLog struct {
	mu  sync.Mutex
	ops []string
}

func (c *callLog) add(op string) { c.mu.Lock(); c.ops = append(c.ops, op); c.mu.Unlock() }

func (c *callLog) first(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Index(c.ops, op)
}

func (w *world) incidentOptions() IncidentOptions {
	ro := w.revokeOptions()
	return IncidentOptions{Lease: ro.Lease, Vendor: "openai", Env: "ci", Type: "confirmed-leak", RegistryUpdate: UpdateWrite,
		Now: ro.Now, Sleep: ro.Sleep}
}

func (w *world) incident(o IncidentOptions) (*IncidentResult, error) {
	w.t.Helper()
	var out bytes.Buffer
	res, err := RunIncident(context.Background(), o, lease.IO{Stdout: &out, Stderr: &w.stderr, Getenv: w.getenv, Environ: func() []string { return nil }})
	path := ""
	if res != nil {
		path = res.RecordPath
	}
	w.checkRun(out.Bytes(), err, path)
	return res, err
}

// github starts a fake GitHub with one repository whose run 7 has job 70.
func (w *world) github(log string) *githubfake.Server {
	w.t.Helper()
	gh, err := githubfake.Start("", incidentGHToken)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = gh.Close() })
	r := gh.AddRepo("acme", "app", "main")
	gh.Lock()
	r.Runs = []int64{7}
	r.Jobs[7] = []int64{70}
	r.Logs[70] = []byte(log)
	gh.Unlock()
	w.vars["GITHUB_API_URL"], w.vars["GITHUB_TOKEN"] = gh.APIURL(), incidentGHToken
	w.secrets = append(w.secrets, incidentGHToken)
	return gh
}

// TestIncidentOrderAndFindings: a planted copy of the old key in a scanned
// path and in a run's log. The emulators see the vendor disable before the
// replacement's mint before the log scan; exit 4; the record names the file
// and the job, never the value; the old version keeps no label; the entry
// stays live (not revoked) with a new last_rotated.
func TestIncidentOrderAndFindings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var calls callLog
	w.oa.Faults.Observe = calls.add
	gh := w.github("2026-12-01T00:00:00Z step\n2026-12-01T00:00:01Z OPENAI_API_KEY=" + w.oldKey + "\n")
	gh.Faults.Observe = calls.add
	scanDir := filepath.Join(w.dir, "repo")
	if err := os.MkdirAll(filepath.Join(scanDir, "notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(scanDir, "notes", "debug.txt"), "line one\nkey="+w.oldKey+"\n")
	write(t, filepath.Join(scanDir, "clean.txt"), "nothing here\n")
	// An encoded copy (echo $KEY | base64) is found too, by its form's
	// fingerprint.
	write(t, filepath.Join(scanDir, "notes", "trace.log"), "auth: "+base64.StdEncoding.EncodeToString([]byte(w.oldKey))+"\n")
	o := w.incidentOptions()
	o.ScanPaths, o.Repo = []string{scanDir}, "acme/app"
	res, err := w.incident(o)
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLeak || res.ExitCode != lease.ExitLeak {
		t.Fatalf("incident: %v, want exit 4\n%s", err, w.stderr.String())
	}
	del, mint, runs := calls.first(vendorfake.OpOpenAIDeleteServiceAccount), calls.first(vendorfake.OpOpenAICreateServiceAccount), calls.first(githubfake.OpListRuns)
	if del < 0 || mint < 0 || runs < 0 || del >= mint || mint >= runs {
		t.Fatalf("order at the emulators: delete %d, mint %d, list runs %d; calls %v", del, mint, runs, calls.ops)
	}
	r := res.Record
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name+"="+s.Outcome)
	}
	want := []string{"revoke=done", "rotate=done", "invalidate=done", "scan-paths=done", "scan-runs=done"}
	if !slices.Equal(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	wantFindings := []IncidentFinding{
		{Source: "path", Path: filepath.Join(scanDir, "notes", "debug.txt"), Line: 2, Column: 5},
		{Source: "path", Path: filepath.Join(scanDir, "notes", "trace.log"), Line: 1, Column: 7},
		{Source: "log", Path: "job-70", RunID: 7, JobID: 70, Line: 2, Column: 37},
	}
	if !slices.Equal(r.Findings, wantFindings) {
		t.Fatalf("findings %+v, want %+v", r.Findings, wantFindings)
	}
	if r.Scanned.Files != 3 || r.Scanned.Logs != 1 || len(r.LeftByHand) == 0 {
		t.Fatalf("scanned %+v, left by hand %v", r.Scanned, r.LeftByHand)
	}
	// The compromised version keeps no label; the replacement is live.
	st := w.stagesOf("openai/ci")
	if len(st[w.oldVID]) != 0 || r.RevokedVersionID != w.oldVID || r.NewVersionID == "" || !slices.Equal(st[r.NewVersionID], []string{"AWSCURRENT"}) {
		t.Fatalf("stages %v, record %+v", st, r)
	}
	_, curKey := w.keyAt("AWSCURRENT")
	if w.verdict(curKey) != vendorapi.Valid || w.verdict(w.oldKey) != vendorapi.Invalid || w.oa.ServiceAccounts(project) != 1 {
		t.Fatal("want the replacement valid, the old key invalid, one service account")
	}
	cfg, err := registry.Load(w.reg, w.pol)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := cfg.Registry.Entry("openai", "ci")
	if e.Revoked || e.LastRotated.Format(time.DateOnly) != "2026-12-01" {
		t.Fatalf("entry revoked %v, last_rotated %v", e.Revoked, e.LastRotated)
	}
	b, _ := os.ReadFile(res.RecordPath)
	if !bytes.Contains(b, []byte(`"schema": "keylease.incident-record/v1"`)) || !bytes.Contains(b, []byte("debug.txt")) {
		t.Fatalf("record:\n%s", b)
	}
}

// TestIncidentClean: nothing planted: exit 0, and the scans are recorded.
func TestIncidentClean(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.github("no keys here\n")
	scanDir := filepath.Join(w.dir, "repo")
	write(t, filepath.Join(w.dir, "repo.txt"), "clean\n")
	_ = os.MkdirAll(scanDir, 0o700)
	o := w.incidentOptions()
	o.ScanPaths, o.Repo = []string{scanDir, filepath.Join(w.dir, "repo.txt")}, "acme/app"
	res, err := w.incident(o)
	if err != nil || res.ExitCode != 0 || len(res.Record.Findings) != 0 {
		t.Fatalf("clean incident: %v, %+v\n%s", err, res, w.stderr.String())
	}
}

// TestIncidentEveryStepRecorded: a staged rotation with no AWSPENDING
// cannot put a replacement in; the incident still revokes, records the
// failed rotation and the version it could not unlabel, scans, exits 3,
// and lists what is left by hand.
func TestIncidentEveryStepRecorded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	write(t, w.reg, strings.Replace(registryText, "method: mint", "method: staged", 1))
	scanDir := filepath.Join(w.dir, "repo")
	_ = os.MkdirAll(scanDir, 0o700)
	o := w.incidentOptions()
	o.ScanPaths = []string{scanDir}
	res, err := w.incident(o)
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease {
		t.Fatalf("incident: %v, want exit 3", err)
	}
	var names []string
	for _, s := range res.Record.Steps {
		names = append(names, s.Name+"="+s.Outcome)
	}
	want := []string{"revoke=done", "rotate=failed", "invalidate=failed", "scan-paths=done", "scan-runs=skipped"}
	if !slices.Equal(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	if w.verdict(w.oldKey) != vendorapi.Invalid {
		t.Fatal("the old key was not revoked")
	}
	joined := strings.Join(res.Record.LeftByHand, "\n")
	for _, s := range []string{"keylease rotate --vendor openai --env ci", "take the labels off version " + w.oldVID, "--repo OWNER/NAME"} {
		if !strings.Contains(joined, s) {
			t.Errorf("left by hand lacks %q:\n%s", s, joined)
		}
	}
}

// TestIncidentRerun: a second run after a finished incident revokes
// nothing new (the replacement stays valid), mints nothing, exits 0.
func TestIncidentRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	scanDir := filepath.Join(w.dir, "repo")
	_ = os.MkdirAll(scanDir, 0o700)
	o := w.incidentOptions()
	o.ScanPaths = []string{scanDir}
	first, err := w.incident(o)
	if err != nil {
		t.Fatalf("first: %v", err)
	}
	_, replacement := w.keyAt("AWSCURRENT")
	w.oa.Faults.ResetCounts()
	second, err := w.incident(o)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, w.stderr.String())
	}
	if w.verdict(replacement) != vendorapi.Valid || w.oa.Faults.Count(vendorfake.OpOpenAICreateServiceAccount) != 0 || w.oa.Faults.Count(vendorfake.OpOpenAIDeleteServiceAccount) != 0 {
		t.Fatal("the rerun revoked the replacement or minted another")
	}
	if second.Record.RevokedVersionID != first.Record.RevokedVersionID || second.Record.Steps[0].Outcome != OutcomeSkipped {
		t.Fatalf("rerun record %+v", second.Record.Steps)
	}
}
