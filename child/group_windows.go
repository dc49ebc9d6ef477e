//go:build windows

package child

import (
	"io"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows the child gets a new console process group, so a CTRL_BREAK
// reaches it (and its console descendants) without reaching us, and it is
// put in a job object so that kill ends the whole tree, as the process-group
// SIGKILL does on unix. A process the child starts in the instant before it
// joins the job escapes it (os/exec cannot start suspended); if the job
// cannot be made (an outer job forbids nesting), kill ends the child only.
func setGroup(cmd *exec.Cmd, _ io.Reader) (started, restore func()) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
	return func() {}, func() {}
}

var procGenerateConsoleCtrlEvent = syscall.NewLazyDLL("kernel32.dll").NewProc("GenerateConsoleCtrlEvent")

const ctrlBreakEvent = 1

type group struct {
	p   *os.Process
	job windows.Handle // 0 when the child is not in a job
}

func newGroup(p *os.Process) *group {
	g := &group{p: p}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return g
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	// #nosec G103 -- the documented way to pass JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return g
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid)) // #nosec G115 -- Windows pids are DWORDs
	if err != nil {
		_ = windows.CloseHandle(job)
		return g
	}
	defer func() { _ = windows.CloseHandle(h) }()
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		_ = windows.CloseHandle(job)
		return g
	}
	g.job = job
	return g
}

// terminate asks politely: CTRL_BREAK to the child's console process group.
// Without a console (services, some runners) this fails and the grace period
// then ends in kill.
func (g *group) terminate() {
	_, _, _ = procGenerateConsoleCtrlEvent.Call(ctrlBreakEvent, uintptr(g.p.Pid))
}

func (g *group) forward(os.Signal) { g.terminate() }

func (g *group) kill() {
	if g.job != 0 {
		_ = windows.TerminateJobObject(g.job, 1)
		return
	}
	_ = g.p.Kill()
}

// release closes the job; KILL_ON_JOB_CLOSE ends whatever is still in it.
func (g *group) release() {
	if g.job != 0 {
		_ = windows.CloseHandle(g.job)
		g.job = 0
	}
}

func exitStatus(ps *os.ProcessState) (code, sig int) {
	if ps == nil {
		return 1, 0
	}
	return ps.ExitCode(), 0
}
