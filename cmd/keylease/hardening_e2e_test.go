package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
)

func init() {
	// forge-output is a child that reaches GITHUB_OUTPUT (its path is not in
	// its environment, but the runner's file-command directory is listable)
	// and sets record-path itself, to choose what the action uploads.
	e2eMoreModes["forge-output"] = func() int {
		f, err := os.OpenFile(os.Getenv("E2E_GITHUB_OUTPUT"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return 9
		}
		_, err = f.WriteString("record-path=/etc/passwd\nrecord-path<<EOF\n/etc/shadow\nEOF\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 9
		}
		return 0
	}
	// escape leaves a descendant in a session of its own (outside the
	// child's process group) with the leased values in its environment,
	// then exits.
	e2eMoreModes["escape"] = func() int {
		cmd := exec.Command("setsid", "sleep", "60")
		if err := cmd.Start(); err != nil {
			return 9
		}
		_ = os.WriteFile(filepath.Join(os.Getenv("E2E_OUT"), "escaped"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
		return 0
	}
}

// runnerOutputs reads GITHUB_OUTPUT the way actions/runner does
// (NAME=VALUE and NAME<<DELIM lines, in file order; StepsContext.SetOutput
// assigns outputs[name] = value, so the last line of a name wins).
func runnerOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	testkit.Must(t, err)
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case line == "":
		case eq >= 0 && (hd < 0 || eq < hd):
			out[line[:eq]] = line[eq+1:]
		case hd >= 0:
			name, delim := line[:hd], line[hd+2:]
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			out[name] = strings.Join(val, "\n")
		}
	}
	return out
}

// TestExecChildCannotChooseRecordPath: whatever record-path the child
// writes, keylease's own line, written after the child ended, is the one the
// runner keeps: the verified record's path, or empty when there is none.
func TestExecChildCannotChooseRecordPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		noRecord bool
	}{
		{"record written", false},
		{"no record", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			r.env["E2E_GITHUB_OUTPUT"] = r.files["GITHUB_OUTPUT"]
			args := []string{"--vendor", "openai"}
			if tt.noRecord {
				// A record path under a regular file cannot be written.
				blocker := filepath.Join(r.dir, "not-a-dir")
				testkit.Must(t, os.WriteFile(blocker, nil, 0o600))
				args = append(args, "--record", filepath.Join(blocker, "record.json"))
			}
			res := r.run("forge-output", args...) // r.run checks every output for secret forms
			if res.code != 0 {
				t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
			}
			got := runnerOutputs(t, r.files["GITHUB_OUTPUT"])["record-path"]
			if tt.noRecord {
				if got != "" {
					t.Errorf("runner would upload %q; want an empty record-path when no record was written", got)
				}
				return
			}
			if got != res.outputs["record-path"] || !strings.HasPrefix(got, filepath.Join(r.dir, "runner-temp", "keylease")+string(filepath.Separator)) {
				t.Errorf("runner would upload %q, not keylease's record", got)
			}
		})
	}
}

// TestExecEscapedDescendantEnds: a descendant that left the child's process
// group is killed and reaped by the real binary before it exits, so no
// process keeps the leased value.
func TestExecEscapedDescendantEnds(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the descendant sweep is Linux-only (subreaper); README states the macOS limit")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	r := newE2E(t, "openai")
	res := r.run("escape", "--vendor", "openai") // r.run checks every output for secret forms
	if res.code != 0 {
		t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
	}
	b, err := os.ReadFile(filepath.Join(r.out, "escaped"))
	testkit.Must(t, err)
	pid, err := strconv.Atoi(string(b))
	testkit.Must(t, err)
	key := []byte(r.keys["OPENAI_API_KEY"])
	ents, err := os.ReadDir("/proc")
	testkit.Must(t, err)
	for _, e := range ents {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, key) {
			t.Errorf("process %s still holds the leased key after keylease exited", e.Name())
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, os.ErrNotExist) {
		if p, ferr := os.FindProcess(pid); ferr == nil {
			_ = p.Kill()
		}
		t.Errorf("descendant %d outlived keylease", pid)
	}
}
