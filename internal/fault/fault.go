// Package fault is the fault injector and call counter the loopback emulators
// share: fail the next N calls of an operation with a status and error code,
// add latency, reset the connection, hand out an expired token, or answer
// as a hostile server would (a huge body, a gzip bomb, a body that drips, a
// reset mid-body, HTML, a redirect, endless pages, duplicate entries, echoed
// values, an overridden response field).
package fault

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
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

	// The kinds below are handled by Apply for every protocol.

	// HugeBody answers 200 with Body followed by filler up to Size bytes,
	// streamed, so the server holds none of it.
	HugeBody
	// GzipBomb answers 200 with Content-Encoding gzip whether or not the
	// client asked: Body, then zeros, up to Size decoded bytes.
	GzipBomb
	// Drip answers 200 and writes Body (default: a JSON-ish filler of Size
	// bytes, default 1 KiB) one byte every Delay (default 1 s).
	Drip
	// ResetMidBody answers 200 with a Content-Length of 2×len(Body), writes
	// Body and resets the connection.
	ResetMidBody
	// Malformed answers Status (default 200) with Body (default an HTML
	// error page) as ContentType (default text/html).
	Malformed
	// Redirect answers Status (default 307) with Location.
	Redirect

	// The kinds below are protocol-specific; each emulator documents which
	// it serves.

	// Endless pages: every page of a paginated answer has a next token.
	Endless
	// Duplicate repeats every entry of a batch answer with another value.
	Duplicate
	// Echo answers with the protocol's not-found error whose message quotes
	// the value of the secret asked for.
	Echo
	// Field serves the call but sets the response field named Field to Body
	// (e.g. STS "Expiration", "SecretAccessKey"; Secrets Manager
	// "VersionId", "ARN", "Name").
	Field
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

	Size        int64  // for HugeBody, GzipBomb, Drip: bytes to send
	Body        string // for HugeBody, GzipBomb, Drip, ResetMidBody, Malformed, Field
	ContentType string // for HugeBody, GzipBomb, Drip, Malformed
	Location    string // for Redirect
	Field       string // for Field
}

type rule struct {
	Rule
	left int
}

// Injector holds rules and per-operation call counters. The zero value is
// ready to use and safe for concurrent use.
type Injector struct {
	// Observe, if set before the first call, sees every call's op in
	// order (tests that assert the order of calls across emulators).
	Observe func(op string)

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
	if in.Observe != nil {
		in.Observe(op)
	}
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

// Apply handles the kinds every protocol treats alike (Latency, Reset and
// the hostile bodies). It reports true when the call was fully handled.
func Apply(w http.ResponseWriter, r *http.Request, f Rule) (handled bool) {
	switch f.Kind {
	case Latency:
		Sleep(r.Context(), f.Delay)
	case Reset:
		if !ResetConn(w) {
			http.Error(w, "connection reset", http.StatusBadGateway)
		}
		return true
	case HugeBody:
		w.Header().Set("Content-Type", cmp.Or(f.ContentType, "application/json"))
		w.WriteHeader(http.StatusOK)
		streamFiller(r.Context(), w, f.Body, f.Size)
		return true
	case GzipBomb:
		w.Header().Set("Content-Type", cmp.Or(f.ContentType, "application/json"))
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		gzipBomb(r.Context(), w, f.Body, f.Size)
		return true
	case Drip:
		drip(w, r, f)
		return true
	case ResetMidBody:
		w.Header().Set("Content-Type", cmp.Or(f.ContentType, "application/json"))
		w.Header().Set("Content-Length", strconv.Itoa(2*len(f.Body)+2))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, f.Body)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if !ResetConn(w) {
			panic(http.ErrAbortHandler) // aborts the response mid-body
		}
		return true
	case Malformed:
		w.Header().Set("Content-Type", cmp.Or(f.ContentType, "text/html"))
		w.WriteHeader(cmp.Or(f.Status, http.StatusOK))
		_, _ = io.WriteString(w, cmp.Or(f.Body, "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"))
		return true
	case Redirect:
		w.Header().Set("Location", f.Location)
		w.WriteHeader(cmp.Or(f.Status, http.StatusTemporaryRedirect))
		return true
	}
	return false
}

// streamFiller writes prefix and then 'A's up to size bytes, stopping when
// the client goes away.
func streamFiller(ctx context.Context, w io.Writer, prefix string, size int64) {
	_, _ = io.WriteString(w, prefix)
	chunk := bytes.Repeat([]byte("A"), 64<<10)
	for left := size - int64(len(prefix)); left > 0 && ctx.Err() == nil; left -= int64(len(chunk)) {
		if _, err := w.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
			return
		}
	}
}

// bombMember is one gzip member of bombUnit zeros, made once: a bomb is the
// prefix's member and then this one repeated (gzip readers read
// concatenated members as one stream), so serving it costs the server
// nothing, also under -race.
var (
	bombOnce   sync.Once
	bombMember []byte
)

const bombUnit = 1 << 20

func gzipBomb(ctx context.Context, w io.Writer, prefix string, size int64) {
	bombOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(make([]byte, bombUnit))
		_ = zw.Close()
		bombMember = b.Bytes()
	})
	member := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return out.Bytes()
	}
	if _, err := w.Write(member([]byte(prefix))); err != nil {
		return
	}
	fl, _ := w.(http.Flusher)
	for left := size - int64(len(prefix)); left > 0 && ctx.Err() == nil; left -= bombUnit {
		m := bombMember
		if left < bombUnit {
			m = member(make([]byte, left))
		}
		if _, err := w.Write(m); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

func drip(w http.ResponseWriter, r *http.Request, f Rule) {
	body := f.Body
	if body == "" {
		body = `{"x":"` + strings.Repeat("A", int(max(cmp.Or(f.Size, 1<<10)-8, 0))) + `"}`
	}
	delay := f.Delay
	if delay <= 0 {
		delay = time.Second
	}
	w.Header().Set("Content-Type", cmp.Or(f.ContentType, "application/json"))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	for i := 0; i < len(body); i++ {
		if _, err := w.Write([]byte{body[i]}); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		Sleep(r.Context(), delay)
		if r.Context().Err() != nil {
			return
		}
	}
}
