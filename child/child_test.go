package child

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

// The test binary doubles as the child: TestMain runs a helper mode when
// CHILD_HELPER is set, so the tests use real processes on every OS without sh.
func TestMain(m *testing.M) {
	if mode := os.Getenv("CHILD_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Args[2:])) // os.Args[1] is -test.run=^$
	}
	os.Exit(m.Run())
}

func helper(mode string, args []string) int {
	switch mode {
	case "exit":
		n, _ := strconv.Atoi(args[0])
		return n
	case "env":
		for _, k := range args {
			fmt.Printf("%s=%s\n", k, os.Getenv(k))
		}
		return 0
	case "cat":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return 0
	case "both":
		var wg sync.WaitGroup
		for _, f := range []*os.File{os.Stdout, os.Stderr} {
			wg.Add(1)
			go func(f *os.File) {
				defer wg.Done()
				for i := range 1000 {
					fmt.Fprintf(f, "%s line %d\n", f.Name(), i)
				}
			}(f)
		}
		wg.Wait()
		return 0
	case "sleep":
		// Announce readiness so the test signals only once handlers are set.
		signal.Ignore(syscall.SIGHUP) // prove forwarding of an ignored signal does not end it
		fmt.Println("ready")
		time.Sleep(time.Minute)
		return 0
	case "trap":
		// Exits 0 on SIGTERM only after being told, to tell "graceful" from "killed".
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, os.Interrupt)
		fmt.Println("ready")
		s := <-c
		fmt.Printf("got %v\n", s)
		return 7
	case "trap-each":
		// Exits with a code naming the signal it caught: 5 for SIGHUP, 6
		// for SIGTERM, so a dropped (or swapped) signal shows.
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP, syscall.SIGTERM)
		fmt.Println("ready")
		select {
		case s := <-c:
			if s == syscall.SIGHUP {
				return 5
			}
			return 6
		case <-time.After(time.Minute):
			return 0
		}
	case "stubborn":
		signal.Ignore(syscall.SIGTERM, os.Interrupt)
		fmt.Println("ready")
		time.Sleep(time.Minute)
		return 0
	case "orphan":
		// Leaves a grandchild holding stdout open, prints its pid, exits.
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), "CHILD_HELPER=hold")
		gc.Stdout = os.Stdout
		if err := gc.Start(); err != nil {
			return 99
		}
		fmt.Printf("grandchild %d\n", gc.Process.Pid)
		return 3
	case "hold":
		time.Sleep(time.Minute)
		return 0
	case "readline":
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("got %s", line)
		return 0
	case "tty-parent":
		return ttyParent()
	case "selfkill":
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Signal(syscall.SIGKILL)
		time.Sleep(time.Minute)
		return 0
	}
	if f, ok := osHelpers[mode]; ok {
		return f(args)
	}
	return 98
}

// osHelpers are helper modes of OS-specific test files.
var osHelpers = map[string]func(args []string) int{}

func helperSpec(mode string, args ...string) Spec {
	return Spec{
		Path: os.Args[0],
		Args: append([]string{"-test.run=^$"}, args...),
		Env:  []string{"CHILD_HELPER=" + mode, "GORACE=atexit_sleep_ms=0"}, // the race runtime otherwise sleeps 1 s at exit
	}
}

// waitFor polls the buffer until it contains want (the child is ready).
func waitFor(t *testing.T, b *testkit.SyncBuffer, want string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if strings.Contains(b.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("child never printed %q; output %q", want, b.String())
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec Spec
		want int
	}{
		{"zero", helperSpec("exit", "0"), 0},
		{"nonzero", helperSpec("exit", "17"), 17},
		{"unknown mode", helperSpec("nope"), 98},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.want || res.Expired || res.Signal != 0 {
				t.Fatalf("result %+v, want exit %d", res, tt.want)
			}
		})
	}
}

func TestEnvironmentIsExactlyTheSpec(t *testing.T) {
	t.Parallel()
	if os.Getenv("PATH") == "" {
		t.Skip("needs PATH in the test's environment")
	}
	var out testkit.SyncBuffer
	s := helperSpec("env", "PATH", "GIVEN") // PATH is the parent's, must not reach the child
	s.Env = append(s.Env, "GIVEN=yes")
	s.Stdout = &out
	if _, err := Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "PATH=\nGIVEN=yes\n"; got != want {
		t.Fatalf("child env %q, want %q", got, want)
	}
}

func TestStdinPassesThrough(t *testing.T) {
	t.Parallel()
	var out testkit.SyncBuffer
	s := helperSpec("cat")
	s.Stdin = strings.NewReader("hello\nworld\n")
	s.Stdout = &out
	if _, err := Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\nworld\n" {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestConcurrentStdoutStderr(t *testing.T) {
	t.Parallel()
	var out, errb testkit.SyncBuffer
	s := helperSpec("both")
	s.Stdout, s.Stderr = &out, &errb
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if n := strings.Count(out.String(), "/dev/stdout line "); n != 1000 {
		t.Errorf("stdout has %d lines, want 1000", n)
	}
	if n := strings.Count(errb.String(), "/dev/stderr line "); n != 1000 {
		t.Errorf("stderr has %d lines, want 1000", n)
	}
}

func TestStartErrorNamesCommand(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Spec{Path: "keylease-no-such-command-xyz"})
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "keylease-no-such-command-xyz") {
		t.Fatalf("err %v, want a *StartError naming the command", err)
	}
}

func TestCancelledContextDoesNotStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, helperSpec("exit", "0"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("signals are unix; windows uses CTRL_BREAK + Kill")
	}
	tests := []struct {
		name     string
		mode     string
		wantOut  string
		minGrace bool // the child ignored SIGTERM, so only the kill after grace ended it
	}{
		{"graceful on SIGTERM", "trap", "got terminated", false},
		{"killed after grace", "stubborn", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out testkit.SyncBuffer
			s := helperSpec(tt.mode)
			s.Stdout = &out
			s.Deadline = time.Now().Add(300 * time.Millisecond)
			s.Grace = 500 * time.Millisecond
			res, err := Run(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Expired || res.ExitCode != ExitDeadline {
				t.Fatalf("result %+v, want expired with exit 124", res)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q, want %q", out.String(), tt.wantOut)
			}
			if tt.minGrace && res.Signal != int(syscall.SIGKILL) {
				t.Errorf("signal %d, want SIGKILL after the grace period", res.Signal)
			}
		})
	}
}

func TestSignalForwarding(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	tests := []struct {
		name     string
		mode     string
		send     []os.Signal
		wantCode int
		wantSig  int
	}{
		{"SIGINT handled by child", "trap", []os.Signal{os.Interrupt}, 7, 0},
		{"SIGTERM default action", "sleep", []os.Signal{syscall.SIGTERM}, 128 + int(syscall.SIGTERM), int(syscall.SIGTERM)},
		{"ignored SIGHUP then SIGINT", "sleep", []os.Signal{syscall.SIGHUP, os.Interrupt}, 128 + int(syscall.SIGINT), int(syscall.SIGINT)},
		// The child traps the signal and exits with its own code: a
		// dropped signal leaves it sleeping, a wrong one gives another code.
		{"SIGHUP trapped by child", "trap-each", []os.Signal{syscall.SIGHUP}, 5, 0},
		{"SIGTERM trapped by child", "trap-each", []os.Signal{syscall.SIGTERM}, 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out testkit.SyncBuffer
			sigs := make(chan os.Signal, 1)
			s := helperSpec(tt.mode)
			s.Env = append(s.Env, signalMarker)
			s.Stdout = &out
			s.Signals = sigs
			// A dropped signal leaves the child sleeping: the deadline
			// then ends it (Expired), well before the helper's minute.
			s.Deadline = time.Now().Add(20 * time.Second)
			s.Grace = 100 * time.Millisecond
			go func() {
				waitFor(t, &out, "ready")
				for _, sig := range tt.send {
					sigs <- sig
					time.Sleep(50 * time.Millisecond)
				}
			}()
			res, err := Run(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.wantCode || res.Signal != tt.wantSig || res.Expired {
				t.Fatalf("result %+v, want code %d signal %d", res, tt.wantCode, tt.wantSig)
			}
			leakcheck.Assert(t, "the child's output", []byte(out.String()), signalMarkerValue)
		})
	}
}

// signalMarker is a leased value in the signalled child's environment.
const (
	signalMarkerValue = "sk-proj-signalmarker-Zx9Yw8Vu7Ts6Rq5Po4"
	signalMarker      = "OPENAI_API_KEY=" + signalMarkerValue
)

func TestCrashBySignal(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix signals")
	}
	res, err := Run(context.Background(), helperSpec("selfkill"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 137 || res.Signal != 9 {
		t.Fatalf("result %+v, want 137 / signal 9", res)
	}
}
