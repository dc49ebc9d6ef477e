package lease

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/record"
)

// TestStepsWithoutAChild drives the steps the way a lifecycle command will:
// Load, Resolve, Session, Fetch, use the values, Finish — no child runs. The
// AWS SDK reaches the emulators through IO.Getenv only (the process
// environment is not touched, so the test runs in parallel).
func TestStepsWithoutAChild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const key = "sk-proj-StepsTest0123456789abcdefGHIJKLmnopqrstUV"
	lf := testkit.Fixture{Vendor: "openai", Env: "ci", MaxTTL: 300}.Start(t, key)
	// The process's own AWS settings must not matter: the lease's are pinned.
	vars := lf.Vars
	vars["AWS_CONFIG_FILE"] = filepath.Join(lf.Dir, "no-config")
	vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(lf.Dir, "no-credentials")

	o := oidcOptions(lf)
	if err := Check(o); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var out, errb bytes.Buffer
	l := New(o, IO{Stdout: &out, Stderr: &errb, Getenv: testkit.Getenv(vars), Environ: testkit.Environ(nil)})
	defer l.Close()
	if err := l.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := l.Resolve(); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if err := l.Session(ctx); err != nil {
		t.Fatalf("Session: %v", err)
	}
	if err := l.Fetch(ctx); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	v, ok := l.Values()["OPENAI_API_KEY"]
	if !ok || string(v.Bytes()) != key {
		t.Fatalf("Values() lacks the leased key (got %d values)", len(l.Values()))
	}
	res, err := l.Finish(nil)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if res.RecordPath == "" || res.Record.Command != nil {
		t.Fatalf("record path %q, command %+v: want a record without a command", res.RecordPath, res.Record.Command)
	}
	rb, err := os.ReadFile(res.RecordPath)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Decode(rb)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Leases) != 1 || rec.Leases[0].Outcome != record.OutcomeLeased || rec.Session == nil || rec.Session.Source != "oidc" {
		t.Fatalf("record %+v: want one leased lease under an oidc session", rec)
	}
	l.Close()
	if bytes.Contains(v.Bytes(), []byte(key)) {
		t.Error("Close left the value in memory")
	}
	for name, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errb.Bytes(), "record": rb} {
		leakcheck.Assert(t, name, b, key)
	}
}
