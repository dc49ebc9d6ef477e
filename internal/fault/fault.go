// Package fault is the fault injector and call counter the loopback emulators
// share: fail the next N calls of an operation with a status and error code,
// add latency, reset the connection, or hand out an expired token.
package fault

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Kind is what a Rule does to a matching call.
type Kind int

const (
	// Error answers with Status and Code in the emulator's wire format.
	Error Kind = iota
	// Latency delays the call by Delay and then serves it normally.
	Latency
	// Reset hijacks the connection and closes it without a response.
	Reset
	// Expired serves the call but with an already expired token (OIDC) or
	// answers with the protocol's expired-token error (STS, Secrets Manager).
	Expired
	// Throttle answers with the protocol's throttling error (OIDC: 429; STS:
	// 400 Throttling; Secrets Manager: 400 ThrottlingException).
	Throttle
)

// Rule injects one fault into the calls of one operation.
type Rule struct {
	Op      string // operation name; "" matches every operation
	Times   int    // how many matching calls to affect; 0 means every call
	Kind    Kind
	Status  int    // for Error; default 500
	Code    string // for Error: the protocol's error code
	Message string // for Error
	Delay   time.Duration
}

type rule struct {
	Rule
	left int
}

// Injector holds rules and per-operation call counters. The zero value is
// ready to use and safe for concurrent use.
type Injector struct {
	mu     sync.Mutex
	rules  []*rule
	counts map[string]int
}

// Add installs r. Rules apply in the order added; the first that matches a
// call wins and is consumed.
func (in *Injector) Add(r Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = append(in.rules, &rule{Rule: r, left: r.Times})
}

// Clear removes every rule (counters are kept).
func (in *Injector) Clear() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = nil
}

// Call counts a call of op and returns the fault to apply to it, if any.
func (in *Injector) Call(op string) (Rule, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.counts == nil {
		in.counts = map[string]int{}
	}
	in.counts[op]++
	for i, r := range in.rules {
		if r.Op != "" && r.Op != op {
			continue
		}
		if r.Times > 0 {
			r.left--
			if r.left <= 0 {
				in.rules = append(in.rules[:i:i], in.rules[i+1:]...)
			}
		}
		return r.Rule, true
	}
	return Rule{}, false
}

// Count is how many calls of op were made ("" sums all operations).
func (in *Injector) Count(op string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if op != "" {
		return in.counts[op]
	}
	n := 0
	for _, c := range in.counts {
		n += c
	}
	return n
}

// Counts returns a copy of every counter.
func (in *Injector) Counts() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	m := make(map[string]int, len(in.counts))
	for k, v := range in.counts {
		m[k] = v
	}
	return m
}

// ResetCounts zeroes every counter.
func (in *Injector) ResetCounts() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts = nil
}

// Sleep waits d or until ctx ends, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ResetConn closes the client's connection without an HTTP response, as a
// crashed or overloaded peer does. It reports false when the connection cannot
// be hijacked (HTTP/2), in which case the caller should answer 502.
func ResetConn(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST rather than FIN, like a real reset
	}
	_ = conn.Close()
	return true
}

// Apply handles the kinds every protocol treats alike (Latency, Reset). It
// reports true when the call was fully handled (connection reset).
func Apply(w http.ResponseWriter, r *http.Request, f Rule) (handled bool) {
	switch f.Kind {
	case Latency:
		Sleep(r.Context(), f.Delay)
	case Reset:
		if !ResetConn(w) {
			http.Error(w, "connection reset", http.StatusBadGateway)
		}
		return true
	}
	return false
}
