//go:build unix

package child

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// setGroup puts the child in a process group of its own. When stdin is the
// terminal and we are its foreground group (an interactive local run), the
// child's group becomes the foreground instead: otherwise a child reading
// the terminal would be stopped by SIGTTIN, and Ctrl-C would reach only us.
// started is called once the child runs; restore gives the terminal back
// once the child has ended.
func setGroup(cmd *exec.Cmd, stdin io.Reader) (started, restore func()) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	cmd.SysProcAttr = attr
	f, ok := stdin.(*os.File)
	if !ok {
		return func() {}, func() {}
	}
	fd := int(f.Fd())
	own := syscall.Getpgrp()
	if pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err != nil || pg != own {
		return func() {}, func() {} // not a terminal, or we run in the background
	}
	attr.Foreground = true
	attr.Ctty = fd // Foreground takes the parent's descriptor
	// While the child holds the foreground we are a background group: our
	// writes of its (redacted) output, and taking the terminal back, would
	// stop us with SIGTTOU (under `stty tostop`) unless we ignore it. Only
	// after the start: the child must not inherit the ignored disposition.
	return func() { signal.Ignore(syscall.SIGTTOU) }, func() {
		defer signal.Reset(syscall.SIGTTOU)
		_ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, own)
	}
}

// group addresses the child's process group (pgid = child's pid).
type group struct{ pgid int }

func newGroup(p *os.Process) *group { return &group{pgid: p.Pid} }

func (g *group) signal(sig syscall.Signal) {
	// ESRCH once the group is gone is the expected end state.
	if err := syscall.Kill(-g.pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = err // EPERM: a member changed credentials; nothing more we can do
	}
}

func (g *group) forward(sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		g.signal(s)
	}
}

func (g *group) terminate() { g.signal(syscall.SIGTERM) }
func (g *group) release()   {}
func (g *group) kill()      { g.signal(syscall.SIGKILL) }

func exitStatus(ps *os.ProcessState) (code, sig int) {
	if ps == nil {
		return 1, 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		n := int(ws.Signal())
		return 128 + n, n
	}
	return ps.ExitCode(), 0
}
