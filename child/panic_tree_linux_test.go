//go:build linux

package child

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

func init() {
	osHelpers["panic-parent-tree"] = panicParentTree
}

// panicTreeScript leaves a grandchild in the child's process group and one in
// a session of its own (setsid), reports their pids on stderr, then writes to
// stdout, where the writer panics.
const panicTreeScript = `sleep 60 </dev/null >/dev/null 2>&1 &
echo "grandchild $!" >&2
setsid sleep 60 </dev/null >/dev/null 2>&1 &
echo "setsid $!" >&2
sleep 0.3
echo hello
sleep 60`

// panicParentTree plays keylease: it runs the script with a leased value in
// its environment and a stdout writer that panics, then reports, before it
// exits (so that no reparenting hides a survivor), which descendants are
// still there.
func panicParentTree(args []string) int {
	marker, value := args[0], args[1]
	var errb testkit.SyncBuffer
	res, err := Run(context.Background(), Spec{Path: "bash", Args: []string{"-c", panicTreeScript},
		Env:    []string{"PATH=" + os.Getenv("PATH"), marker},
		Stdout: panicWriter{marker: value}, Stderr: &errb,
		Grace: 200 * time.Millisecond, Drain: 300 * time.Millisecond,
	})
	var pe *PanicError
	if !errors.As(err, &pe) {
		fmt.Fprintf(os.Stderr, "no PanicError: %v (exit %d)\n", err, res.ExitCode)
		return 1
	}
	var gc, ss int
	for _, line := range strings.Split(errb.String(), "\n") {
		_, _ = fmt.Sscanf(line, "grandchild %d", &gc)
		_, _ = fmt.Sscanf(line, "setsid %d", &ss)
	}
	if gc <= 0 || ss <= 0 {
		fmt.Fprintf(os.Stderr, "the script reported no descendants: %q\n", errb.String())
		return 1
	}
	fmt.Fprintf(os.Stderr, "descendants %d %d\n", gc, ss)
	for _, pid := range []int{gc, ss} {
		// Gone entirely: neither alive nor an unreaped zombie.
		if _, serr := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(serr, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "survivor %d\n", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if h := environHolders(marker); len(h) > 0 {
		fmt.Fprintf(os.Stderr, "holders %v\n", h)
		for _, p := range h {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
	fmt.Fprintf(os.Stderr, "recovered: %s\n", err)
	return 0
}

// TestOutputWriterPanicKillsDescendants: README says a panic while redacting
// kills the command and its descendants. The child here has a grandchild in
// its group and one that left it with setsid; both hold the leased value and
// both must be gone when Run returns. It runs in a parent process of its own,
// like TestOutputWriterPanicKillsChild, so that no other test's sweep (in
// this process) kills the descendants in its place.
func TestOutputWriterPanicKillsDescendants(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "setsid", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	value := "sk-proj-panictree-9a8b7c6d5e4f3a2b1c0dEFGHIJ"
	marker := "OPENAI_API_KEY=" + value
	cmd := exec.Command(os.Args[0], "-test.run=^$", marker, value) // #nosec G204 G702 -- re-executes this test binary
	cmd.Env = []string{"CHILD_HELPER=panic-parent-tree", "GORACE=atexit_sleep_ms=0", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the parent hung after the writer panicked")
	}
	// The parent's arguments hold the value; its output must not.
	leakcheck.Assert(t, "the parent's stderr", stderr.Bytes(), value)
	if err != nil || !strings.Contains(stderr.String(), "recovered: ") {
		t.Fatalf("parent ended with %v, want the panic recovered; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "descendants ") {
		t.Fatalf("the parent saw no descendants; the test shows nothing: %s", stderr.String())
	}
	if strings.Contains(stderr.String(), "survivor ") || strings.Contains(stderr.String(), "holders ") {
		t.Errorf("descendants outlived the panic: %s", stderr.String())
	}
	// And after the parent's exit, nothing anywhere holds the value.
	if h := environHolders(marker); len(h) > 0 {
		t.Errorf("pids %v still hold the leased value", h)
		for _, p := range h {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}
