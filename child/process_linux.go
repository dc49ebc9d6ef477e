//go:build linux

package child

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var hardenOnce = sync.OnceValue(func() error {
	// Not dumpable: /proc/<keylease>/environ, mem, maps become root-owned
	// and unreadable to the child (same uid), so it cannot read the OIDC
	// request token keylease itself was started with. The child's execve
	// makes the child dumpable again; only keylease stays closed.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	// Subreaper: a descendant that leaves the child's process group
	// (setsid, `set -m`) and is orphaned is reparented to keylease, not to
	// init, so the sweep after the child's end still finds it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err)
	}
	return nil
})

// harden makes this process undumpable and a child subreaper (once; both
// are process-wide and only Run, the exec path, asks for them).
func harden() error { return hardenOnce() }

// procEntry is what the sweep needs of one /proc/<pid>/stat.
type procEntry struct{ ppid, pgid int }

// readProcs maps every visible pid to its parent and process group.
func readProcs() map[int]procEntry {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	m := make(map[int]procEntry, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")) // #nosec G304 -- /proc/<pid>/stat
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) S ppid pgrp ...": comm may hold spaces and ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 {
			continue
		}
		ppid, err1 := strconv.Atoi(f[1])
		pgid, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		m[pid] = procEntry{ppid: ppid, pgid: pgid}
	}
	return m
}

// sweepBound caps how long the descendant sweep keeps finding new ones (a
// fork loop): the lease's end must not hang on it.
const sweepBound = 2 * time.Second

// killDescendants SIGKILLs every remaining descendant of this process that
// belongs to a lease and reaps the orphans reparented to us, repeating until
// none is left or sweepBound passed. It returns how many it killed.
//
// A direct child of ours is the root of a lease's leftovers unless it is the
// running child of another Run (registered in active) or shares our own
// process group (a process this program started itself without a group of
// its own: Run always gives its child one). Only those roots' trees are
// killed; wait4 is called on such roots only, by pid, so os/exec's own Wait
// of a Run's child is never raced.
func killDescendants() int {
	self, selfPG := os.Getpid(), syscall.Getpgrp()
	killed := map[int]bool{}
	stop := time.Now().Add(sweepBound)
	for {
		activeMu.Lock()
		procs := readProcs()
		children := map[int][]int{}
		for pid, p := range procs {
			children[p.ppid] = append(children[p.ppid], pid)
		}
		var roots, tree []int
		for _, pid := range children[self] {
			if active[pid] || procs[pid].pgid == selfPG {
				continue
			}
			roots = append(roots, pid)
			// Walk the root's subtree (parents before children).
			for stack := []int{pid}; len(stack) > 0; {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				tree = append(tree, p)
				stack = append(stack, children[p]...)
			}
		}
		for _, pid := range tree {
			// ESRCH: gone meanwhile; a zombie is killed already.
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				killed[pid] = true
			}
		}
		activeMu.Unlock()
		if len(roots) == 0 {
			return len(killed)
		}
		for _, pid := range roots {
			reap(pid, stop)
		}
		if time.Now().After(stop) {
			return len(killed)
		}
	}
}

// reap waits for one killed child of ours (by pid), until stop.
func reap(pid int, stop time.Time) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if got == pid || errors.Is(err, syscall.ECHILD) || (err != nil && !errors.Is(err, syscall.EINTR)) {
			return
		}
		if time.Now().After(stop) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
