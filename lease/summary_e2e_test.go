package lease

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

// TestChildPersistenceRefused runs a real child against the emulators under
// no_persistence: it writes the leased key into GITHUB_STEP_SUMMARY, or
// prints it in a persisting workflow command. The lease fails with exit 4,
// the child's summary lines or command data are gone, and no form of the
// key is in the summary, the outputs or anything printed.
func TestChildPersistenceRefused(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	t.Parallel()
	for _, tt := range []struct {
		name, script, names string
		brokenStdout        bool // keylease's stdout fails: the guard must run all the same
	}{
		{"step summary", `printf '## child\n\nkey: %s\n' "$OPENAI_API_KEY" >> "$GITHUB_STEP_SUMMARY"`, "GITHUB_STEP_SUMMARY", false},
		// Rewritten, not appended: shorter than what was there before, so
		// nothing lies past the old size.
		{"step summary rewritten", `printf '%s' "$OPENAI_API_KEY" > "$GITHUB_STEP_SUMMARY"`, "GITHUB_STEP_SUMMARY", false},
		{"step summary, then output keylease cannot write", `printf 'key: %s\n' "$OPENAI_API_KEY" >> "$GITHUB_STEP_SUMMARY"; seq 1 200000`, "GITHUB_STEP_SUMMARY", true},
		{"set-output line", `printf '::set-output name=k::%s\n' "$OPENAI_API_KEY"; echo done`, "set-output", false},
		{"save-state on stderr", `printf '::save-state name=k::%s\n' "$OPENAI_API_KEY" >&2`, "save-state", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			childPersistenceRefused(t, tt.script, tt.names, tt.brokenStdout)
		})
	}
}

// brokenWriter takes a few KiB, then fails, like a closed pipe.
type brokenWriter struct{ buf bytes.Buffer }

func (w *brokenWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > 4096 {
		return 0, errors.New("broken pipe")
	}
	return w.buf.Write(p)
}

func childPersistenceRefused(t *testing.T, script, names string, brokenStdout bool) {
	ctx := context.Background()
	const key = "sk-proj-SummaryTest0123456789abcdefGHIJKLmnopqrSTU" // #nosec G101 -- made up
	l := testkit.Fixture{Vendor: "openai", Env: "dev", MaxTTL: 900}.Start(t, key)
	dir := l.Dir
	summary := filepath.Join(dir, "step_summary.md")
	outputs := filepath.Join(dir, "github_output")
	testkit.WriteFile(t, summary, "# earlier step\n")
	testkit.WriteFile(t, outputs, "")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": outputs, "RUNNER_TEMP": dir}
	var errb, cmds bytes.Buffer
	out := &brokenWriter{}
	var stdout io.Writer = &out.buf
	if brokenStdout {
		stdout = out
	}
	_, lerr := Run(ctx, oidcOptions(l, "sh", "-c", script),
		IO{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: &errb, Commands: &cmds,
			Getenv: testkit.GetenvOrProcess(env, l.Vars), Environ: testkit.Environ(os.Environ(), l.Vars, env)})
	var le *Error
	if !errors.As(lerr, &le) || le.Code != ExitLeak {
		t.Fatalf("lease error %v, want exit %d", lerr, ExitLeak)
	}
	if !strings.Contains(lerr.Error(), names) {
		t.Errorf("the error does not name %s: %q", names, lerr.Error())
	}
	sb, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sb, []byte("# earlier step\n")) || bytes.Contains(sb, []byte("## child")) {
		t.Errorf("the child's summary lines were not rolled back (%d bytes)", len(sb))
	}
	ob, _ := os.ReadFile(outputs)
	rb, _ := os.ReadFile(filepath.Join(dir, "record.json"))
	for name, b := range map[string][]byte{"summary": sb, "stdout": out.buf.Bytes(), "stderr": errb.Bytes(), "error": []byte(lerr.Error()),
		"GITHUB_OUTPUT": ob, "record": rb, "workflow commands": testkit.WithoutAddMask(cmds.Bytes())} {
		leakcheck.Assert(t, name, b, key)
	}
}
