package child

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ttyParent runs in a new session whose controlling terminal is its stdin
// (a pty): it runs a child that reads the terminal, then reports whether it
// got the terminal's foreground back.
func ttyParent() int {
	res, err := Run(context.Background(), Spec{
		Path: os.Args[0], Args: []string{"-test.run=^$"},
		Env:   []string{"CHILD_HELPER=readline", "GORACE=atexit_sleep_ms=0"},
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	if err != nil {
		fmt.Println("run:", err)
		return 1
	}
	pg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	fmt.Printf("exit=%d restored=%v\n", res.ExitCode, err == nil && pg == syscall.Getpgrp())
	return 0
}

// TestTerminalForeground: an interactive child reading the terminal must not
// be stopped by SIGTTIN (its group gets the foreground), and keylease must
// take the terminal back afterwards.
func TestTerminalForeground(t *testing.T) {
	t.Parallel()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer func() { _ = master.Close() }()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	defer func() { _ = slave.Close() }()

	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"CHILD_HELPER=tty-parent", "GORACE=atexit_sleep_ms=0"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	// Registered like a Run's child: it has a session of its own, and the
	// descendant sweep of a concurrent Run must not take it for a leftover.
	activeMu.Lock()
	err = cmd.Start()
	if err == nil {
		active[cmd.Process.Pid] = true
	}
	activeMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	defer unregister(cmd.Process.Pid)
	if _, err := master.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	// Drain the echo so the pty never blocks.
	go func() {
		buf := make([]byte, 256)
		for {
			if _, err := master.Read(buf); err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tty parent: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the child reading the terminal hung (stopped by SIGTTIN?); output %q", out.String())
	}
	if !strings.Contains(out.String(), "got hello") || !strings.Contains(out.String(), "exit=0 restored=true") {
		t.Fatalf("output %q, want the line read and the terminal restored", out.String())
	}
}
