//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
)

func init() {
	// read-parent-environ tries to read keylease's environment, which holds
	// the OIDC request token, and keeps what it got.
	e2eMoreModes["read-parent-environ"] = func() int {
		got, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", os.Getppid()))
		if err != nil {
			got = []byte("denied: " + strconv.FormatBool(errors.Is(err, os.ErrPermission)))
		}
		_ = os.WriteFile(filepath.Join(os.Getenv("E2E_OUT"), "parent-environ"), got, 0o600)
		return 0
	}
}

// copyExecutable copies an executable into dir with mode 0755.
func copyExecutable(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src) // #nosec G304 -- a test binary
	testkit.Must(t, err)
	dst := filepath.Join(dir, filepath.Base(src))
	testkit.Must(t, os.WriteFile(dst, b, 0o755)) // #nosec G306 -- executable for the unprivileged user
	return dst
}

// TestExecChildCannotReadKeyleaseEnviron: the real binary, started with the
// OIDC request token in its environment (as under Actions), runs a child
// that reads /proc/<keylease>/environ. As root the test runs keylease and
// its child as uid 65534: root (CAP_SYS_PTRACE) reads any environ, which is
// the documented limit (a child with sudo); the runner's own user is not root.
func TestExecChildCannotReadKeyleaseEnviron(t *testing.T) {
	t.Parallel()
	r := newE2E(t, "openai")
	cmd := r.command("read-parent-environ", "--vendor", "openai")
	if os.Getuid() == 0 {
		bin, err := os.MkdirTemp("", "keylease-e2e-nobody-")
		testkit.Must(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(bin) })
		testkit.Must(t, os.Chmod(bin, 0o755)) // #nosec G302 -- the unprivileged user runs the binaries from here
		self, err := os.Executable()
		testkit.Must(t, err)
		child := copyExecutable(t, self, bin)
		cmd.Path = copyExecutable(t, keyleaseBin, bin)
		cmd.Args[len(cmd.Args)-2] = child                     // ... -- <child> -test.run=^$
		testkit.Must(t, os.Chmod(filepath.Dir(r.dir), 0o755)) // #nosec G302 -- t.TempDir's parent, 0700 by default
		root, err := os.OpenRoot(r.dir)
		testkit.Must(t, err)
		defer func() { _ = root.Close() }()
		testkit.Must(t, fs.WalkDir(root.FS(), ".", func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return root.Lchown(p, 65534, 65534)
		}))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Dir = "/"
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	res := e2eResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.Bytes(), stderr: stderr.Bytes(), outputs: r.outputs()}
	r.canary(res) // the child's file holds no form of the token or the key
	if res.code != 0 {
		t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
	}
	got, err := os.ReadFile(filepath.Join(r.out, "parent-environ"))
	testkit.Must(t, err)
	if string(got) != "denied: true" {
		t.Errorf("the child was not refused keylease's environ (read %d bytes)", len(got))
	}
}
