package lease

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/masking"
)

// TestShortValueReachesProcessSanitizer leases a value shorter than
// masking.MinLen under a policy that allows it, and checks that the
// process-wide set behind main's error printer and panic handler masks it too.
// (It once refused the value silently, so main could have printed it.)
// The AWS SDK reaches the emulators through the lease's getenv alone. Not
// parallel: every lease sets the options of the process-wide set, and this
// one needs allow_short_values in force while it checks.
func TestShortValueReachesProcessSanitizer(t *testing.T) {
	ctx := context.Background()
	rnd := make([]byte, 3)
	_, _ = rand.Read(rnd)
	short := hex.EncodeToString(rnd) // 6 bytes: below masking.MinLen
	l := testkit.Fixture{Vendor: "tiny", Env: "ci", MaxTTL: 300, ShortValues: true}.Start(t, short)
	dir := l.Dir

	var out, errb, cmds bytes.Buffer
	// The test binary itself, running no test: a child that exits 0.
	res, err := Run(ctx, oidcOptions(l, os.Args[0], "-test.run=^$"),
		IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Commands: &cmds,
			Getenv: testkit.GetenvOrProcess(l.Vars), Environ: testkit.Environ(os.Environ(), l.Vars)})
	if err != nil {
		t.Fatalf("lease of a short value under allow_short_values failed: %v", err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("child exit %d, stderr %q", res.ExitCode, errb.String())
	}
	if got := masking.Process().Sanitize("error: " + short + " rejected"); strings.Contains(got, short) {
		t.Errorf("process sanitizer left the short value in %q", got)
	}
	for name, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errb.Bytes()} {
		if bytes.Contains(b, []byte(short)) {
			t.Errorf("%s holds the value", name)
		}
	}
	rec, err := os.ReadFile(filepath.Join(dir, "record.json"))
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	if bytes.Contains(rec, []byte(short)) {
		t.Error("record holds the value")
	}
}

// TestStderrStaysOneLine: lease.Run is also called without exec's flag
// checks (demo, tests, future callers), so what it prints on stderr must not
// let a path start a workflow command of its own. A refused lease still
// writes its record and names it on stderr.
func TestStderrStaysOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg, pol := testkit.Fixture{Vendor: "openai", Env: "ci", MaxTTL: 300}.Write(t, dir)
	var out, errb, cmds bytes.Buffer
	res, err := Run(context.Background(), Options{
		RegistryPath: reg, PolicyPath: pol, Env: "ci", Vendors: []string{"anthropic"},
		RecordPath: filepath.Join(dir, "rec\r::add-mask::injected\r::warning::x.json"),
		Command:    []string{os.Args[0], "-test.run=^$"},
	}, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Commands: &cmds,
		Getenv: func(string) string { return "" }, Environ: func() []string { return nil }})
	if err == nil {
		t.Fatal("a vendor outside allowed_secrets was leased")
	}
	if res == nil || res.RecordPath == "" {
		t.Fatalf("the refused lease wrote no record (res %+v); the test shows nothing", res)
	}
	if !strings.Contains(errb.String(), "run record") {
		t.Fatalf("stderr %q does not name the record; the test shows nothing", errb.String())
	}
	for name, b := range map[string]string{"stdout": out.String(), "stderr": errb.String()} {
		for _, line := range strings.FieldsFunc(b, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if strings.HasPrefix(strings.TrimSpace(line), "::") {
				t.Errorf("%s carries a workflow command: %q", name, line)
			}
		}
	}
}
