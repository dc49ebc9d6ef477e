package memcheck_test

import (
	"testing"

	"github.com/keylease/keylease/internal/memcheck"
)

var sink []byte

func TestPeakSeesAGrowth(t *testing.T) {
	got := memcheck.Peak(func() { sink = make([]byte, 32<<20); sink[len(sink)-1] = 1 })
	sink = nil
	if got < 30<<20 {
		t.Fatalf("Peak = %d after a 32 MiB allocation; want at least 30 MiB", got)
	}
	if small := memcheck.Peak(func() {}); small > 8<<20 {
		t.Fatalf("Peak of an empty call = %d; want under 8 MiB", small)
	}
}
