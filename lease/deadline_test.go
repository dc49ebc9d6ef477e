package lease

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/record"
)

// TestDeadlineIncludesSessionExpiry: README says the deadline is the shortest
// of the registry's max_ttl_seconds, the policy's cap, --ttl and the STS
// session's expiry. With a dev entry and cap of 3600 s and the 900 s session
// keylease asks STS for, the child must get the session's expiry, not now+3600.
// The AWS SDK reaches the emulators through the lease's getenv alone.
func TestDeadlineIncludesSessionExpiry(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	t.Parallel()
	ctx := context.Background()
	const key = "sk-proj-DeadlineTest0123456789abcdefGHIJKLmnopqrST"
	l := testkit.Fixture{Vendor: "openai", Env: "dev", MaxTTL: 3600}.Start(t, key)

	tests := []struct {
		name      string
		ttl       time.Duration
		wantAfter time.Duration // expected deadline, from the start of the run
		session   bool          // the deadline is exactly the session's expiry
	}{
		{"session expiry below ttl and cap", 0, 900 * time.Second, true},
		{"--ttl below session expiry", 120 * time.Second, 120 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			outputs := filepath.Join(sub, "github_output")
			testkit.WriteFile(t, outputs, "")
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "RUNNER_TEMP": sub}
			o := oidcOptions(l, "sh", "-c", `echo "expires=$KEYLEASE_EXPIRES_AT"; echo "key=$OPENAI_API_KEY"`)
			o.TTL, o.RecordPath = tt.ttl, filepath.Join(sub, "record.json")
			var out, errb, cmds bytes.Buffer
			start := time.Now()
			res, err := Run(ctx, o, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Commands: &cmds,
				Getenv: testkit.GetenvOrProcess(env, l.Vars), Environ: testkit.Environ(os.Environ(), l.Vars)})
			if err != nil {
				t.Fatalf("lease: %v", err)
			}
			if res.ExitCode != 0 {
				t.Fatalf("child exit %d, stderr %q", res.ExitCode, errb.String())
			}

			want := start.Add(tt.wantAfter)
			if d := res.ExpiresAt.Sub(want); d < -5*time.Second || d > 5*time.Second {
				t.Errorf("ExpiresAt %s is %s from start+%s (start %s)", res.ExpiresAt.Format(time.RFC3339), res.ExpiresAt.Sub(start).Round(time.Second), tt.wantAfter, start.UTC().Format(time.RFC3339))
			}
			rb, err := os.ReadFile(res.RecordPath)
			if err != nil {
				t.Fatalf("record: %v", err)
			}
			rec, err := record.Decode(rb)
			if err != nil {
				t.Fatalf("record: %v", err)
			}
			if rec.Session == nil || rec.Session.ExpiresAt.IsZero() {
				t.Fatalf("record has no session expiry: %+v", rec.Session)
			}
			if tt.session && !res.ExpiresAt.Equal(rec.Session.ExpiresAt) {
				t.Errorf("ExpiresAt %s, want the session's expiry %s", res.ExpiresAt.Format(time.RFC3339), rec.Session.ExpiresAt.Format(time.RFC3339))
			}
			if res.ExpiresAt.After(rec.Session.ExpiresAt) {
				t.Errorf("ExpiresAt %s outlives the session (%s)", res.ExpiresAt.Format(time.RFC3339), rec.Session.ExpiresAt.Format(time.RFC3339))
			}
			if len(rec.Leases) != 1 || !rec.Leases[0].ExpiresAt.Equal(res.ExpiresAt) || rec.Leases[0].TTLSeconds != 3600 {
				t.Errorf("record leases %+v, want one with ttl 3600 expiring at %s", rec.Leases, res.ExpiresAt.Format(time.RFC3339))
			}
			stamp := res.ExpiresAt.Format(time.RFC3339)
			if !strings.Contains(out.String(), "expires="+stamp+"\n") {
				t.Errorf("the child was told another deadline: %q, want %s", out.String(), stamp)
			}
			ob, err := os.ReadFile(outputs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(ob, []byte("\n"+stamp+"\n")) || !bytes.Contains(ob, []byte("lease-expires-at<<")) {
				t.Errorf("GITHUB_OUTPUT lacks lease-expires-at %s: %q", stamp, ob)
			}
			if !strings.Contains(out.String(), "key=***") {
				t.Errorf("the child's output shows no redacted key; the leak checks show nothing: %q", out.String())
			}
			for name, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errb.Bytes(), "record": rb, "GITHUB_OUTPUT": ob, "workflow commands": testkit.WithoutAddMask(cmds.Bytes())} {
				leakcheck.Assert(t, name, b, key)
			}
		})
	}
}
