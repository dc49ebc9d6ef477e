// Package memcheck measures how much a call grows the Go heap, for the tests
// that drive clients against hostile servers: the peak of HeapAlloc over a
// baseline taken after a GC, sampled while the call runs (ReadMemStats is
// exact at each sample; a growth to tens of MB takes far longer to build
// than the sampling interval, also under -race).
package memcheck

import (
	"runtime"
	"sync"
	"time"
)

// Peak runs fn and returns the largest growth of the live heap seen while it
// ran, in bytes.
func Peak(fn func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var (
		mu   sync.Mutex
		peak uint64
	)
	sample := func() {
		var s runtime.MemStats
		runtime.ReadMemStats(&s)
		mu.Lock()
		if s.HeapAlloc > base && s.HeapAlloc-base > peak {
			peak = s.HeapAlloc - base
		}
		mu.Unlock()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	fn()
	sample()
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	return peak
}
