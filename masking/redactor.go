package masking

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"
)

// IdleRelease is how long a Redactor waits without input before it releases
// a held partial form shorter than MinLen bytes (a prompt such as "Password: "
// that happens to begin like a form must not stall).
const IdleRelease = 50 * time.Millisecond

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("masking: write to a closed redactor")

// mask is what every redacted run of bytes becomes, as the runner prints it.
const mask = "***"

// clock is the redactor's view of time; tests substitute a fake one.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Redactor is an io.WriteCloser that writes what it is given to another
// writer with every form of every value in its Set replaced by ***.
//
// Bytes that cannot begin a form pass at once. Bytes that could still become
// a form are held until the form completes (and is masked) or is ruled out.
// After IdleRelease without input, a held partial form shorter than MinLen
// bytes is released; a longer one stays held until it resolves and is masked
// by Close. When a form completes whose first bytes were already released,
// the rest of it is masked. Overlapping and adjacent forms become one ***.
//
// Inside a partial form, an ANSI SGR sequence (ESC [ parameters m) and a bare
// CR (one not followed by LF) are transparent: the log viewer renders them
// invisibly, so a form interrupted by them still reads as the value. The
// automaton keeps its state across them and the whole span, interruptions
// included, becomes ***. Before a form's first byte they are ordinary text.
// At most maxInterrupts of them, of at most maxSGR bytes each, count inside
// one form, so a stream cannot make the redactor hold without bound.
//
// A Redactor is safe for concurrent use; its output keeps the order of its
// input.
type Redactor struct {
	set  *Set
	w    io.Writer
	clk  clock
	idle time.Duration

	mu         sync.Mutex
	m          *matcher
	state      int32
	pos        int64  // offset just after the last input byte
	emitted    int64  // offset up to which input has been written out (or masked)
	held       []byte // input bytes [emitted, pos)
	masks      []span // masked spans that end after emitted
	lastMasked bool   // the output so far ends with a *** that reaches emitted
	redactions int64
	closed     bool
	err        error
	armed      bool
	stop       func() bool
	lastInput  time.Time

	// Interruptions inside the current partial form: skips are the
	// transparent SGR sequences and bare CRs (input offsets), seq the bytes
	// of one not yet decided (an SGR sequence cut by a write boundary, or a
	// CR whose next byte is unknown), starting at offset seqStart.
	skips    []span
	seq      []byte
	seqStart int64

	out     []byte
	scratch []span
	found   []span
}

// NewRedactor returns a Redactor writing to w. Close it to flush what it
// holds; closing does not close w.
func (s *Set) NewRedactor(w io.Writer) *Redactor {
	return s.newRedactor(w, realClock{}, IdleRelease)
}

func (s *Set) newRedactor(w io.Writer, clk clock, idle time.Duration) *Redactor {
	return &Redactor{set: s, w: w, clk: clk, idle: idle, m: s.matcher()}
}

// Redactions is the number of *** written so far.
func (r *Redactor) Redactions() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.redactions
}

// Write redacts p and writes what can be decided to the underlying writer.
// It returns len(p) unless the underlying writer failed.
func (r *Redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, ErrClosed
	}
	if r.err != nil {
		return 0, r.err
	}
	if m := r.set.matcher(); m != r.m {
		r.switchMatcher(m)
	}
	m := r.m
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	if m.npat == 0 && len(r.held) == 0 && len(r.masks) == 0 {
		r.pos += int64(n)
		r.emitted = r.pos
		if _, err := r.w.Write(p); err != nil {
			r.err = err
			return 0, err
		}
		r.lastMasked = false
		return n, nil
	}

	base := r.pos
	found := r.found[:0]
	// The automaton (with SGR and bare CR transparent) runs while a form may
	// be pending; at its root the skip scan takes over up to the next ESC or
	// CR, the only bytes whose meaning the skip scan cannot see.
	nextESC, nextCR := -1, -1
	for i := 0; i < n; {
		if r.state != 0 || len(r.seq) > 0 {
			for ; i < n && (r.state != 0 || len(r.seq) > 0); i++ {
				found = r.feedByte(p[i], base+int64(i), found)
			}
			continue
		}
		if nextESC < i {
			nextESC = indexFrom(p, i, 0x1b)
		}
		if nextCR < i {
			nextCR = indexFrom(p, i, '\r')
		}
		j := min(nextESC, nextCR)
		if j > i {
			found, r.state = m.scanState(p[i:j], base+int64(i), found)
		}
		if j < n {
			// The automaton, not the skip scan, decides the ESC or CR: it may
			// interrupt a form that began just before it.
			found = r.feedByte(p[j], base+int64(j), found)
		}
		i = j + 1
	}
	r.found = found
	r.pos += int64(n)

	all := append(r.scratch[:0], r.masks...)
	all = append(all, found...)
	all = merge(all)
	r.scratch = all

	// Everything before the longest pending prefix (with the interruptions
	// inside it and one still undecided) is decided; so are masked bytes that
	// follow it directly.
	f := r.pendingStart()
	f = max(f, r.emitted)
	for _, s := range all {
		if s.start <= f && s.end > f {
			f = min(s.end, r.pos)
		}
	}
	err := r.emit(p, base, all, f)
	r.keep(p, base, f, all)
	if err != nil {
		return 0, err
	}
	r.maybeArm()
	return n, nil
}

// Bounds on the interruptions that stay transparent inside one form.
const (
	maxInterrupts = 8
	maxSGR        = 32
)

// indexFrom is the index of the first c in p[i:], or len(p).
func indexFrom(p []byte, i int, c byte) int {
	if k := bytes.IndexByte(p[i:], c); k >= 0 {
		return i + k
	}
	return len(p)
}

// feedByte runs the automaton over c, the input byte at offset o, treating
// SGR sequences and bare CRs inside a partial form as transparent, and
// appends the spans of forms that end.
func (r *Redactor) feedByte(c byte, o int64, found []span) []span {
	if len(r.seq) > 0 {
		if r.seq[0] == '\r' {
			if c == '\n' {
				found = r.flushSeq(found) // CR LF is a line end
			} else {
				r.skips = append(r.skips, span{r.seqStart, r.seqStart + 1})
				r.seq = r.seq[:0]
			}
		} else {
			switch {
			case len(r.seq) == 1 && c == '[',
				len(r.seq) > 1 && len(r.seq) < maxSGR-1 && (c >= '0' && c <= '9' || c == ';' || c == ':'):
				r.seq = append(r.seq, c)
				return found
			case len(r.seq) > 1 && c == 'm':
				r.skips = append(r.skips, span{r.seqStart, o + 1})
				r.seq = r.seq[:0]
				return found
			}
			found = r.flushSeq(found) // not an SGR sequence: ordinary bytes
		}
	}
	return r.stepByte(c, o, found, true)
}

// stepByte is feedByte for a byte that is not part of a pending sequence.
// An ESC or CR may begin an interruption only inside a partial form, and
// only where the automaton would fall back to its root on it: where a form
// may continue (or begin) with it, it is that form's byte.
func (r *Redactor) stepByte(c byte, o int64, found []span, mayInterrupt bool) []span {
	m := r.m
	if mayInterrupt && r.state != 0 && (c == 0x1b || c == '\r') && len(r.skips) < maxInterrupts && m.step(r.state, c) == 0 {
		r.seq = append(r.seq[:0], c)
		r.seqStart = o
		return found
	}
	r.state = m.step(r.state, c)
	if l := m.maxOut[r.state]; l > 0 {
		found = append(found, span{r.startOf(o+1, int64(l)), o + 1})
	}
	if r.state == 0 {
		r.skips = r.skips[:0]
	} else if len(r.skips) > 0 {
		// Interruptions before the current partial form no longer count.
		st := r.startOf(o+1, int64(m.depth[r.state]))
		k := 0
		for k < len(r.skips) && r.skips[k].start < st {
			k++
		}
		r.skips = append(r.skips[:0], r.skips[k:]...)
	}
	return found
}

// flushSeq runs the bytes of an undecided sequence through the automaton as
// ordinary bytes (they turned out to be no interruption).
func (r *Redactor) flushSeq(found []span) []span {
	var b [maxSGR]byte
	n := copy(b[:], r.seq)
	r.seq = r.seq[:0]
	for k := 0; k < n; k++ {
		found = r.stepByte(b[k], r.seqStart+int64(k), found, false)
	}
	return found
}

// startOf is the input offset where a run of l automaton bytes ending at end
// begins, counting the interruptions inside it.
func (r *Redactor) startOf(end, l int64) int64 {
	start := end
	for k := len(r.skips) - 1; k >= 0; k-- {
		gap := start - r.skips[k].end
		if gap >= l {
			break
		}
		l -= gap
		start = r.skips[k].start
	}
	return start - l
}

// pendingStart is the input offset where the pending partial form (with its
// interruptions and an undecided sequence) begins, or r.pos.
func (r *Redactor) pendingStart() int64 {
	if r.state == 0 {
		return r.pos
	}
	end := r.pos
	if len(r.seq) > 0 {
		end = r.seqStart
	}
	return r.startOf(end, int64(r.m.depth[r.state]))
}

// emit writes input [r.emitted, to) with the masked spans replaced by ***.
// p is the current write (offset base); earlier bytes come from r.held.
func (r *Redactor) emit(p []byte, base int64, spans []span, to int64) error {
	from := r.emitted
	if to <= from {
		return nil
	}
	held0 := r.emitted // offset of r.held[0]
	raw := func(out []byte, a, b int64) []byte {
		if a < base {
			hb := min(b, base)
			out = append(out, r.held[a-held0:hb-held0]...)
			a = hb
		}
		if a < b {
			out = append(out, p[a-base:b-base]...)
		}
		return out
	}
	// Fast path: nothing held, nothing masked in range.
	if from >= base && !overlaps(spans, from, to) {
		r.emitted = to
		r.lastMasked = false
		if _, err := r.w.Write(p[from-base : to-base]); err != nil {
			r.err = err
			return err
		}
		return nil
	}
	out := r.out[:0]
	cur := from
	for _, s := range spans {
		if s.end <= cur {
			continue
		}
		if s.start >= to {
			break
		}
		if s.start > cur {
			out = raw(out, cur, s.start)
			r.lastMasked = false
		}
		if !r.lastMasked {
			out = append(out, mask...)
			r.redactions++
			r.lastMasked = true
		}
		cur = min(s.end, to)
	}
	if cur < to {
		out = raw(out, cur, to)
		r.lastMasked = false
	}
	r.out = out
	r.emitted = to
	if len(out) == 0 {
		return nil
	}
	if _, err := r.w.Write(out); err != nil {
		r.err = err
		return err
	}
	return nil
}

func overlaps(spans []span, from, to int64) bool {
	for _, s := range spans {
		if s.end > from && s.start < to {
			return true
		}
	}
	return false
}

// keep retains input [f, r.pos) as held bytes and the spans that reach past f.
// held0 is the offset r.held started at before this write.
func (r *Redactor) keep(p []byte, base, f int64, spans []span) {
	// r.emitted was already advanced to f by emit; r.held still starts at the
	// offset it had before: base - len(r.held).
	held0 := base - int64(len(r.held))
	if f >= base {
		r.held = append(r.held[:0], p[f-base:]...)
	} else {
		k := copy(r.held, r.held[f-held0:])
		clear(r.held[k:])
		r.held = append(r.held[:k], p...)
	}
	r.masks = r.masks[:0]
	for _, s := range spans {
		if s.end > f {
			r.masks = append(r.masks, s)
		}
	}
}

// maybeArm starts the idle timer when the held bytes may be released later.
func (r *Redactor) maybeArm() {
	if len(r.held) == 0 || int(r.m.depth[r.state]) >= MinLen {
		return
	}
	r.lastInput = r.clk.Now()
	if !r.armed {
		r.armed = true
		r.stop = r.clk.AfterFunc(r.idle, r.onIdle)
	}
}

func (r *Redactor) onIdle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = false
	if r.closed || r.err != nil || len(r.held) == 0 || int(r.m.depth[r.state]) >= MinLen {
		return
	}
	if el := r.clk.Now().Sub(r.lastInput); el < r.idle {
		r.armed = true
		r.stop = r.clk.AfterFunc(r.idle-el, r.onIdle)
		return
	}
	_ = r.release() // a failure is kept in r.err and returned by the next call
}

// release writes out every held byte (masked spans as ***). The automaton
// keeps its state, so a form that still completes masks its remaining bytes.
func (r *Redactor) release() error {
	err := r.emit(nil, r.pos, r.masks, r.pos)
	clear(r.held)
	r.held = r.held[:0]
	r.masks = r.masks[:0]
	return err
}

// switchMatcher moves to a matcher that knows more forms: the held bytes are
// run through it so that a form already complete in them is masked.
func (r *Redactor) switchMatcher(m *matcher) {
	r.m = m
	var found []span
	// The held bytes are rescanned without interruptions: a value added
	// while an interrupted form is pending is rare, and a form already in
	// the held bytes whole is still found.
	r.skips, r.seq = r.skips[:0], r.seq[:0]
	r.state, found = m.feed(0, r.held, r.emitted, nil)
	if len(found) > 0 {
		r.masks = merge(append(r.masks, found...))
	}
}

// Close writes out what is still held, masking a pending partial form of
// MinLen bytes or more, and stops the idle timer. It does not close the
// underlying writer. Close is idempotent.
func (r *Redactor) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.armed && r.stop != nil {
		r.stop()
		r.armed = false
	}
	if r.err != nil {
		return r.err
	}
	if len(r.held) > 0 {
		if int(r.m.depth[r.state]) >= MinLen {
			r.masks = merge(append(r.masks, span{r.emitted, r.pos}))
		}
		return r.release()
	}
	return nil
}
