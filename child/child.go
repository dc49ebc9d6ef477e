// Package child runs the one command that receives a lease: in its own process
// group, with forwarded signals, a hard deadline and a bounded pipe drain.
//
// The package knows nothing of secrets: the caller builds the environment and
// wraps stdout/stderr in redactors. What it guarantees is that the child and
// every descendant in its group end with the lease (deadline or child exit),
// and that an orphan holding a pipe cannot hang the caller. On Linux it also
// kills descendants that left the group (keylease is their subreaper) and
// makes the calling process undumpable, so the child cannot read the
// caller's /proc/<pid>/environ; a panic of an output writer is recovered,
// the child killed and the panic returned as *PanicError.
package child

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// Default timings of the child contract (docs/contracts.md, "The child process").
const (
	DefaultGrace = 10 * time.Second // SIGTERM → SIGKILL at the deadline
	DefaultDrain = 2 * time.Second  // how long pipes are read after the child exits
)

// ExitDeadline is the exit code when the lease's deadline ended the child.
const ExitDeadline = 124

// Spec describes one child process.
type Spec struct {
	Path string   // executable; looked up in PATH when it has no separator
	Args []string // argv without argv[0]
	Env  []string // the complete environment ("K=V"); nil means an empty one, never the parent's
	Dir  string   // working directory; "" = current

	Stdin          io.Reader // nil = no input
	Stdout, Stderr io.Writer // nil = discard

	// Deadline ends the child (soft signal, Grace, then kill of the whole
	// group). Zero means none.
	Deadline time.Time
	Grace    time.Duration // 0 = DefaultGrace
	Drain    time.Duration // 0 = DefaultDrain

	// Signals received by the caller are forwarded to the child's group.
	Signals <-chan os.Signal

	// Started, if set, is called once the child runs, before any output is read.
	Started func(pid int)
}

// Result is how the child ended.
type Result struct {
	ExitCode int           // the code to exit with: child's code, 128+N for signal N, 124 on deadline
	Signal   int           // signal number that ended the child, 0 if it exited (unix only)
	Expired  bool          // the deadline ended it
	Duration time.Duration // start to exit
	// DrainTimedOut reports that a descendant still held stdout/stderr when
	// the drain window closed; output after that moment is lost.
	DrainTimedOut bool
}

// StartError reports that the command could not be started at all (not
// found, not executable). Its message names the command, never the environment.
type StartError struct {
	Path string
	Err  error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("start %s: %v; check the command after -- exists and is executable", e.Path, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// Run starts the child and waits until it has ended and its pipes are
// drained (or the drain window closed). ctx only bounds the start: once the
// child runs, it is ended by its deadline or by forwarded signals, so that a
// cancelled keylease still waits for (and reports) its child.
func Run(ctx context.Context, s Spec) (Result, error) {
	if s.Grace <= 0 {
		s.Grace = DefaultGrace
	}
	if s.Drain <= 0 {
		s.Drain = DefaultDrain
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("child not started: %w", err)
	}
	path := s.Path
	if lp, err := exec.LookPath(s.Path); err == nil {
		path = lp
	} else if !errors.Is(err, exec.ErrDot) {
		return Result{}, &StartError{Path: s.Path, Err: err}
	}
	cmd := exec.Command(path, s.Args...) //nolint:gosec // running the user's command is the purpose
	cmd.Args[0] = s.Path
	cmd.Env = s.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = s.Dir
	cmd.Stdin = s.Stdin
	gd := newGuard()
	cmd.Stdout = gd.wrap(orDiscard(s.Stdout))
	cmd.Stderr = gd.wrap(orDiscard(s.Stderr))
	// WaitDelay bounds how long Wait keeps copying after the child exited:
	// the 2 s drain of the design.
	cmd.WaitDelay = s.Drain
	startedTTY, restoreTTY := setGroup(cmd, s.Stdin)

	if err := harden(); err != nil {
		return Result{}, fmt.Errorf("child not started: %w; keylease cannot protect its own environment from the command", err)
	}

	start := time.Now()
	activeMu.Lock()
	if err := cmd.Start(); err != nil {
		activeMu.Unlock()
		restoreTTY()
		return Result{}, &StartError{Path: s.Path, Err: err}
	}
	pid := cmd.Process.Pid
	active[pid] = true
	activeMu.Unlock()
	startedTTY()
	g := newGroup(cmd.Process)
	defer g.release()
	// Whatever ends Run, a panic included (main's handler then exits), the
	// child's group and every descendant end with it.
	defer func() {
		if v := recover(); v != nil {
			g.kill()
			unregister(pid)
			killDescendants()
			panic(v)
		}
	}()
	if s.Started != nil {
		s.Started(cmd.Process.Pid)
	}

	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	var deadline <-chan time.Time
	if !s.Deadline.IsZero() {
		t := time.NewTimer(time.Until(s.Deadline))
		defer t.Stop()
		deadline = t.C
	}
	var killAfterGrace <-chan time.Time
	panicked := gd.panicked
	expired := false
	var err error
loop:
	for {
		select {
		case err = <-waitErr:
			break loop
		case sig := <-s.Signals:
			g.forward(sig)
		case <-deadline:
			expired = true
			deadline = nil
			g.terminate()
			t := time.NewTimer(s.Grace)
			defer t.Stop()
			killAfterGrace = t.C
		case <-killAfterGrace:
			killAfterGrace = nil
			g.kill()
		case <-panicked:
			// The redactor's state is unknown: nothing more of the
			// child's output may pass, and the child ends now.
			panicked = nil
			g.kill()
		}
	}
	dur := time.Since(start)
	restoreTTY()
	// The lease ends with the child: no descendant keeps the value (and no
	// orphan keeps a pipe open longer than it must).
	g.kill()
	unregister(pid)
	// Descendants that left the group (setsid, `set -m`) and were
	// reparented to us: killed and reaped, so none keeps the value.
	killDescendants()

	res := Result{Duration: dur, Expired: expired}
	if pe := gd.result(); pe != nil {
		return res, pe
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		res.DrainTimedOut = true
		err = nil
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return res, fmt.Errorf("wait for child %s: %w", s.Path, err)
	}
	res.ExitCode, res.Signal = exitStatus(cmd.ProcessState)
	if expired {
		res.ExitCode = ExitDeadline
	}
	return res, nil
}

func unregister(pid int) {
	activeMu.Lock()
	delete(active, pid)
	activeMu.Unlock()
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
