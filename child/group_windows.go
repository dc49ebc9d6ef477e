//go:build windows

package child

import (
	"io"
	"os"
	"os/exec"
	"syscall"
)

// On Windows the child gets a new process group so that a console
// CTRL_BREAK reaches it (and its console descendants) without reaching us.
// Kill ends the child process itself; descendants that detached from its
// console are out of reach without a job object (documented limitation).
func setGroup(cmd *exec.Cmd, _ io.Reader) (started, restore func()) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
	return func() {}, func() {}
}

var procGenerateConsoleCtrlEvent = syscall.NewLazyDLL("kernel32.dll").NewProc("GenerateConsoleCtrlEvent")

const ctrlBreakEvent = 1

type group struct{ p *os.Process }

func newGroup(p *os.Process) *group { return &group{p: p} }

// terminate asks politely: CTRL_BREAK to the child's console process group.
// Without a console (services, some runners) this fails and the grace period
// then ends in kill.
func (g *group) terminate() {
	_, _, _ = procGenerateConsoleCtrlEvent.Call(ctrlBreakEvent, uintptr(g.p.Pid))
}

func (g *group) forward(os.Signal) { g.terminate() }

func (g *group) kill() { _ = g.p.Kill() }

func exitStatus(ps *os.ProcessState) (code, sig int) {
	if ps == nil {
		return 1, 0
	}
	return ps.ExitCode(), 0
}
