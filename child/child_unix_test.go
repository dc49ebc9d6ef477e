//go:build unix

package child

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/testkit"
)

func TestOrphanCannotHangAndIsKilled(t *testing.T) {
	t.Parallel()
	var out testkit.SyncBuffer
	s := helperSpec("orphan")
	s.Stdout = &out
	s.Drain = 300 * time.Millisecond
	done := make(chan struct{})
	var res Result
	var err error
	go func() { res, err = Run(context.Background(), s); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run hung on a pipe held by an orphan")
	}
	if err != nil || res.ExitCode != 3 {
		t.Fatalf("res %+v err %v", res, err)
	}
	var pid int
	if _, err := fmt.Sscanf(out.String(), "grandchild %d", &pid); err != nil {
		t.Fatalf("no grandchild pid in %q", out.String())
	}
	// The group kill after the child's exit must have ended the grandchild.
	for i := 0; ; i++ {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		if i > 200 {
			t.Fatalf("grandchild %d outlived the lease", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
