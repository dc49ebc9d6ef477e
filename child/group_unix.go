//go:build unix

package child

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
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
