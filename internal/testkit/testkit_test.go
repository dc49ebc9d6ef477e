package testkit_test

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
)

func TestGetenvLayers(t *testing.T) {
	t.Parallel()
	top, base := map[string]string{"A": "top"}, map[string]string{"A": "base", "B": "base"}
	get := testkit.Getenv(top, base)
	if get("A") != "top" || get("B") != "base" {
		t.Errorf("A=%q B=%q, want the first layer holding a name to win", get("A"), get("B"))
	}
	if get("PATH") != "" {
		t.Error("Getenv read the process environment")
	}
	if got, want := testkit.GetenvOrProcess(top)("PATH"), os.Getenv("PATH"); got != want {
		t.Errorf("GetenvOrProcess(PATH) = %q, want the process's %q", got, want)
	}
	env := testkit.Environ([]string{"X=1"}, top)()
	if !slices.Equal(env, []string{"X=1", "A=top"}) {
		t.Errorf("Environ = %q", env)
	}
}

func TestWithoutAddMask(t *testing.T) {
	t.Parallel()
	got := string(testkit.WithoutAddMask([]byte("::add-mask::v\n::debug::d\n::add-mask::w\nplain")))
	if got != "::debug::d\nplain" {
		t.Errorf("WithoutAddMask = %q", got)
	}
}

// TestSyncBuffer writes from many goroutines while reading (run with -race).
func TestSyncBuffer(t *testing.T) {
	t.Parallel()
	var b testkit.SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Errorf("%d bytes, want 800", len(got))
	}
}
