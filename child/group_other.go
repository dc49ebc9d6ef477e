//go:build !unix && !windows

package child

import (
	"io"
	"os"
	"os/exec"
)

func setGroup(*exec.Cmd, io.Reader) (started, restore func()) { return func() {}, func() {} }

type group struct{ p *os.Process }

func newGroup(p *os.Process) *group { return &group{p: p} }

func (g *group) forward(s os.Signal) { _ = g.p.Signal(s) }
func (g *group) terminate()          { _ = g.p.Kill() }
func (g *group) kill()               { _ = g.p.Kill() }
func (g *group) release()            {}

func exitStatus(ps *os.ProcessState) (code, sig int) {
	if ps == nil {
		return 1, 0
	}
	return ps.ExitCode(), 0
}
