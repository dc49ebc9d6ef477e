//go:build linux

package child

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

func init() {
	osHelpers["read-parent-environ"] = readParentEnviron
	osHelpers["dumpable-parent"] = dumpableParent
	osHelpers["hello-sleep"] = func([]string) int {
		fmt.Println("hello")
		time.Sleep(time.Minute)
		return 0
	}
	osHelpers["panic-parent"] = panicParent
}

// secretForms are the forms of marker a leak could take in the tests' output.
func assertNoForm(t *testing.T, what string, b []byte, marker string) {
	t.Helper()
	leakcheck.Assert(t, what, b, marker)
}

// environHolders lists the pids whose environment holds marker.
func environHolders(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestDescendantsDoNotOutliveLease: a descendant that leaves the child's
// process group (setsid, bash job control) must not keep the leased value
// once Run returned, whether the child exited or the deadline ended it; and
// none is left as a zombie.
func TestDescendantsDoNotOutliveLease(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	tests := []struct {
		name, script string
		deadline     bool
	}{
		{"setsid", `setsid sleep 30 </dev/null >/dev/null 2>&1 & echo "pid $!"; sleep 0.2`, false},
		{"set -m", `set -m; sleep 30 </dev/null >/dev/null 2>&1 & echo "pid $!"; sleep 0.2`, false},
		{"nested setsid chain", `setsid bash -c 'setsid sleep 30 </dev/null >/dev/null 2>&1 & sleep 30' </dev/null >/dev/null 2>&1 & echo "pid $!"; sleep 0.3`, false},
		{"deadline", `set -m; sleep 30 </dev/null >/dev/null 2>&1 & echo "pid $!"; sleep 60`, true},
		{"holds stdout", `setsid sleep 30 & echo "pid $!"; sleep 0.2`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			marker := "LEASED_OPENAI_API_KEY=sk-proj-desc-" + strings.NewReplacer(" ", "", "-", "").Replace(tt.name) + "-Q7w8E9r0T1y2U3i4"
			var out testkit.SyncBuffer
			s := Spec{Path: "bash", Args: []string{"-c", tt.script},
				Env: []string{"PATH=" + os.Getenv("PATH"), marker}, Stdout: &out, Grace: 200 * time.Millisecond, Drain: 300 * time.Millisecond}
			if tt.deadline {
				s.Deadline = time.Now().Add(time.Second)
			}
			res, err := Run(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Expired != tt.deadline {
				t.Errorf("expired %v, want %v", res.Expired, tt.deadline)
			}
			var pid int
			if _, err := fmt.Sscanf(out.String(), "pid %d", &pid); err != nil || pid <= 0 {
				t.Fatalf("no descendant pid in %q", out.String())
			}
			// Checked right away: Run kills and reaps before it returns.
			if h := environHolders(marker); len(h) > 0 {
				t.Errorf("Run returned (exit %d) but pids %v still hold the leased value", res.ExitCode, h)
				for _, p := range h {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("descendant %d still exists (alive or an unreaped zombie)", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			assertNoForm(t, "the child's output", []byte(out.String()), marker)
		})
	}
}

// readParentEnviron is the careless (or curious) child: it prints its
// parent's environment if it can read it.
func readParentEnviron([]string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", os.Getppid()))
	if err != nil {
		fmt.Printf("denied: %v\n", errors.Is(err, os.ErrPermission))
		return 0
	}
	fmt.Printf("read: %s\n", bytes.ReplaceAll(b, []byte{0}, []byte{'\n'}))
	fmt.Printf("b64: %s\n", base64.StdEncoding.EncodeToString(b))
	return 0
}

// dumpableParent plays keylease: its own environment holds the token (as
// keylease's does under Actions) and it runs the reader through Run with an
// environment without it.
func dumpableParent([]string) int {
	res, err := Run(context.Background(), Spec{Path: os.Args[0], Args: []string{"-test.run=^$"},
		Env: []string{"CHILD_HELPER=read-parent-environ", "GORACE=atexit_sleep_ms=0"}, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil || res.ExitCode != 0 {
		fmt.Printf("run: %v exit %d\n", err, res.ExitCode)
		return 1
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/environ", &st); err == nil {
		fmt.Printf("environ owner %d, we are %d\n", st.Uid, os.Getuid())
	}
	return 0
}

// TestChildCannotReadParentEnviron: the child must not read the OIDC
// request token from /proc/<keylease>/environ. The parent runs as an
// unprivileged user when the test runs as root: root (CAP_SYS_PTRACE) reads
// any process's environ, undumpable or not, so as root the test could show
// nothing; that is also the documented limit (a child with sudo is out of
// scope). Unprivileged, an undumpable parent's environ is root-owned and
// the same-user child gets EACCES.
func TestChildCannotReadParentEnviron(t *testing.T) {
	t.Parallel()
	marker := "ACTIONS_ID_TOKEN_REQUEST_TOKEN=eyJoidc-request-token-Z9y8X7w6V5u4T3s2"
	bin := os.Args[0]
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		// The test binary lives in a 0700 build dir: give the nobody user a
		// readable copy.
		dir, err := os.MkdirTemp("", "keylease-child-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil { // #nosec G302 -- the unprivileged parent must reach the binary
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "child.test")
		src, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, src, 0o755); err != nil { // #nosec G306 -- an executable for the nobody user
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	cmd := exec.Command(bin, "-test.run=^$") // #nosec G204 G702 -- re-executes this test binary
	cmd.Env = []string{"CHILD_HELPER=dumpable-parent", "GORACE=atexit_sleep_ms=0", marker}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("parent: %v\n%s", err, out)
	}
	assertNoForm(t, "what the child could read of its parent", out, marker)
	if !bytes.Contains(out, []byte("denied: true")) {
		t.Errorf("the child was not refused its parent's environ: %q", out)
	}
	if !bytes.Contains(out, []byte("environ owner 0,")) {
		t.Errorf("the parent's /proc/self/environ is not root-owned (still dumpable): %q", out)
	}
}

// panicWriter is a redactor that breaks: its panic value holds the secret.
type panicWriter struct{ marker string }

func (p panicWriter) Write([]byte) (int, error) { panic("redactor state: " + p.marker) }

// panicParent runs a child whose output writer panics. Without recovery the
// runtime prints the panic value raw and the child lives on.
func panicParent(args []string) int {
	marker := args[0]
	res, err := Run(context.Background(), Spec{Path: os.Args[0], Args: []string{"-test.run=^$"},
		Env:     []string{"CHILD_HELPER=hello-sleep", "GORACE=atexit_sleep_ms=0"},
		Stdout:  panicWriter{marker: marker},
		Started: func(pid int) { fmt.Fprintf(os.Stderr, "child %d\n", pid) },
	})
	var pe *PanicError
	if !errors.As(err, &pe) {
		fmt.Fprintf(os.Stderr, "no PanicError: %v (exit %d)\n", err, res.ExitCode)
		return 1
	}
	if !strings.Contains(fmt.Sprint(pe.Value), marker) || len(pe.Stack) == 0 {
		fmt.Fprintln(os.Stderr, "PanicError lost the value or the stack")
		return 1
	}
	fmt.Fprintf(os.Stderr, "recovered: %s; signal %d\n", err, res.Signal)
	return 0
}

// TestOutputWriterPanicKillsChild: a panic in the stdout writer (called by
// os/exec's copy goroutine) is recovered, never printed raw, and ends the
// child.
func TestOutputWriterPanicKillsChild(t *testing.T) {
	t.Parallel()
	marker := "sk-proj-panicmarker-0123456789abcdefABCDEF"
	cmd := exec.Command(os.Args[0], "-test.run=^$", marker) // #nosec G204 G702 -- re-executes this test binary
	cmd.Env = []string{"CHILD_HELPER=panic-parent", "GORACE=atexit_sleep_ms=0"}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the parent hung after the writer panicked")
	}
	var pid int
	if _, serr := fmt.Sscanf(stderr.String(), "child %d", &pid); serr != nil {
		t.Fatalf("no child pid in %q", stderr.String())
	}
	defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }()
	assertNoForm(t, "the parent's stderr", stderr.Bytes(), marker)
	if err != nil || !strings.Contains(stderr.String(), "recovered: ") {
		t.Fatalf("parent ended with %v, want the panic recovered; stderr:\n%s", err, stderr.String())
	}
	if _, serr := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("child %d outlived the panic", pid)
	}
}
