//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
)

func init() {
	// summary-then-flood writes the leased key into the job summary, then
	// floods stdout: the reader of keylease's stdout has gone by then.
	e2eMoreModes["summary-then-flood"] = func() int {
		v := os.Getenv(strings.Split(os.Getenv("E2E_VARS"), ",")[0])
		f, err := os.OpenFile(os.Getenv("GITHUB_STEP_SUMMARY"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return 97
		}
		_, _ = fmt.Fprintf(f, "key: %s\n", v)
		_ = f.Close()
		line := bytes.Repeat([]byte("flood "), 1000)
		for range 20000 {
			if _, err := os.Stdout.Write(line); err != nil {
				return 0
			}
		}
		return 0
	}
}

// TestExecStdoutClosed: keylease's stdout is a pipe whose reader
// goes away (`keylease exec … | head`). keylease is not killed by SIGPIPE:
// it still finds the key the command left in GITHUB_STEP_SUMMARY, puts the
// file back and exits 4 (before, it died of SIGPIPE with exit 141 and the
// key stayed in the summary).
func TestExecStdoutClosed(t *testing.T) {
	t.Parallel()
	r := newE2E(t, "openai")
	cmd := r.command("summary-then-flood", "--vendor", "openai")
	pr, pw, err := os.Pipe()
	testkit.Must(t, err)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	testkit.Must(t, cmd.Start())
	_ = pw.Close()
	// Read until the command's own output arrives (past the ::add-mask::
	// registrations, which must reach the runner), then go away.
	var head []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(head, []byte("flood")) {
		n, err := pr.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			break
		}
	}
	_ = pr.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitLeak {
		t.Fatalf("exit %d (%v), want %d; stderr %s", code, cmd.ProcessState, exitLeak, stderr.Bytes())
	}
	// The canary also reads every file the run left: the summary included.
	r.canary(e2eResult{stdout: head, stderr: stderr.Bytes()})
}
