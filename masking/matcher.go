package masking

import (
	"cmp"
	"slices"
)

// matcher finds every occurrence of a fixed set of byte strings.
//
// Two engines share one trie. A Wu-Manber style skip scan does the bulk of
// the work: a table indexed by the two-byte block at the end of a window of
// W bytes (W = shortest form, at most 12) tells how far the window can move
// without passing a position where a form may start, so ordinary output is
// skipped several bytes per step and the trie is walked only at rare
// candidates; the same walks tell which trailing bytes could still begin a
// form (the state a stream carries into its next write). An Aho-Corasick
// automaton (failure links, dense rows for shallow states) takes over only
// while a form begun in earlier input may still be completing, until it
// falls back to its root. github.com/coregx/ahocorasick is a good whole-buffer
// matcher but exposes no resumable state, so it cannot carry a partial form
// across writes, and it is slower here; BenchmarkMatcher measures both.
//
// A matcher is immutable once built and safe for concurrent use.
type matcher struct {
	npat   int
	minLen int
	maxLen int

	// trie + failure links; node 0 is the root
	depth    []int32
	fail     []int32
	term     []int32 // pattern id + 1 when a pattern ends here, else 0
	maxOut   []int32 // longest pattern that is a suffix of this node's string
	edgeOff  []int32 // edges of node i: edgeByte/edgeTo[edgeOff[i]:edgeOff[i+1]]
	edgeByte []byte
	edgeTo   []int32
	root     [256]int32 // dense root row: child of the root or -1

	// skip scan
	window int // W: length of the scanned window, <= minLen
	shift  []uint8

	// Dense automaton rows for the shallow states (where ordinary output
	// keeps the automaton): row[s] >= 0 indexes dense, whose entries are the
	// complete transitions, failure links resolved.
	row   []int32
	dense [][256]int32
}

// newMatcher builds a matcher for pats (empty strings are ignored). The
// patterns' total length must stay below 2^31 (Set.Add bounds values by
// MaxLen, so their forms stay far below).
func newMatcher(pats [][]byte) *matcher {
	m := &matcher{}
	// Build the trie with first-child/next-sibling links: no per-node maps,
	// so a long multi-line value (a PEM key and its forms) builds quickly.
	var (
		depth     = []int32{0}
		term      = []int32{0}
		label     = []byte{0}
		firstKid  = []int32{-1}
		nextSib   = []int32{-1}
		rootChild [256]int32
	)
	for c := range rootChild {
		rootChild[c] = -1
	}
	m.minLen = -1
	for id, p := range pats {
		if len(p) == 0 {
			continue
		}
		m.npat++
		if m.minLen < 0 || len(p) < m.minLen {
			m.minLen = len(p)
		}
		m.maxLen = max(m.maxLen, len(p))
		s := int32(0)
		for _, c := range p {
			t := int32(-1)
			if s == 0 {
				t = rootChild[c]
			} else {
				for k := firstKid[s]; k >= 0; k = nextSib[k] {
					if label[k] == c {
						t = k
						break
					}
				}
			}
			if t < 0 {
				t = int32(len(depth)) // #nosec G115 -- bounded by the total pattern length (see newMatcher)
				depth = append(depth, depth[s]+1)
				term = append(term, 0)
				label = append(label, c)
				firstKid = append(firstKid, -1)
				nextSib = append(nextSib, firstKid[s])
				firstKid[s] = t
				if s == 0 {
					rootChild[c] = t
				}
			}
			s = t
		}
		if term[s] == 0 {
			term[s] = int32(id) + 1 // #nosec G115 -- pattern count is far below 2^31
		}
	}
	if m.minLen < 0 {
		m.minLen = 0
	}
	n := len(depth)
	m.depth, m.term = depth, term
	m.edgeOff = make([]int32, n+1)
	m.edgeByte = make([]byte, 0, n)
	m.edgeTo = make([]int32, 0, n)
	var kids []int32
	for i := 0; i < n; i++ {
		kids = kids[:0]
		for k := firstKid[i]; k >= 0; k = nextSib[k] {
			kids = append(kids, k)
		}
		slices.SortFunc(kids, func(a, b int32) int { return int(label[a]) - int(label[b]) })
		m.edgeOff[i] = int32(len(m.edgeByte)) // #nosec G115 -- one edge per node
		for _, k := range kids {
			m.edgeByte = append(m.edgeByte, label[k])
			m.edgeTo = append(m.edgeTo, k)
		}
	}
	m.edgeOff[n] = int32(len(m.edgeByte)) // #nosec G115 -- one edge per node
	for c := range m.root {
		m.root[c] = -1
	}
	for e := m.edgeOff[0]; e < m.edgeOff[1]; e++ {
		m.root[m.edgeByte[e]] = m.edgeTo[e]
	}

	// failure links and longest outputs, breadth first
	m.fail = make([]int32, n)
	m.maxOut = make([]int32, n)
	queue := make([]int32, 0, n)
	for e := m.edgeOff[0]; e < m.edgeOff[1]; e++ {
		queue = append(queue, m.edgeTo[e])
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if m.term[s] != 0 {
			m.maxOut[s] = m.depth[s]
		} else {
			m.maxOut[s] = m.maxOut[m.fail[s]]
		}
		for e := m.edgeOff[s]; e < m.edgeOff[s+1]; e++ {
			c, t := m.edgeByte[e], m.edgeTo[e]
			f := m.fail[s]
			for {
				if g := m.child(f, c); g >= 0 {
					m.fail[t] = g
					break
				}
				if f == 0 {
					m.fail[t] = 0
					break
				}
				f = m.fail[f]
			}
			queue = append(queue, t)
		}
	}

	m.buildDense(n)

	// Skip table over two-byte blocks at the end of a window of W bytes.
	m.window = min(m.minLen, 12)
	if m.window >= 3 {
		w := m.window
		m.shift = make([]uint8, 1<<16)
		for i := range m.shift {
			m.shift[i] = uint8(w - 1) // #nosec G115 -- w <= 12
		}
		for _, p := range pats {
			if len(p) == 0 {
				continue
			}
			for j := 0; j+1 < w; j++ {
				k := uint16(p[j]) | uint16(p[j+1])<<8
				if s := uint8(w - 2 - j); s < m.shift[k] { // #nosec G115 -- 0 <= w-2-j < 12
					m.shift[k] = s
				}
			}
		}
	}
	return m
}

// child is the trie transition from s on c, or -1.
func (m *matcher) child(s int32, c byte) int32 {
	if s == 0 {
		return m.root[c]
	}
	lo, hi := m.edgeOff[s], m.edgeOff[s+1]
	if hi-lo == 1 {
		if m.edgeByte[lo] == c {
			return m.edgeTo[lo]
		}
		return -1
	}
	for e := lo; e < hi; e++ {
		if m.edgeByte[e] == c {
			return m.edgeTo[e]
		}
	}
	return -1
}

// step is the automaton transition.
func (m *matcher) step(s int32, c byte) int32 {
	for {
		if r := m.row[s]; r >= 0 {
			return m.dense[r][c]
		}
		if t := m.child(s, c); t >= 0 {
			return t
		}
		s = m.fail[s]
	}
}

// Bounds of the dense rows: 1024 rows of 1 KiB at most.
const (
	denseDepth = 4
	denseRows  = 1024
)

// buildDense fills complete transition rows for the states of depth up to
// denseDepth, in breadth-first order so that a state's failure target (which
// is shallower) already has its row.
func (m *matcher) buildDense(n int) {
	m.row = make([]int32, n)
	for i := range m.row {
		m.row[i] = -1
	}
	queue := []int32{0}
	for len(queue) > 0 && len(m.dense) < denseRows {
		s := queue[0]
		queue = queue[1:]
		var r [256]int32
		for c := range 256 {
			if t := m.child(s, byte(c)); t >= 0 {
				r[c] = t
			} else if s != 0 {
				r[c] = m.dense[m.row[m.fail[s]]][c]
			}
		}
		m.row[s] = int32(len(m.dense)) // #nosec G115 -- at most denseRows
		m.dense = append(m.dense, r)
		if m.depth[s] < denseDepth {
			for e := m.edgeOff[s]; e < m.edgeOff[s+1]; e++ {
				queue = append(queue, m.edgeTo[e])
			}
		}
	}
}

// span is a half-open interval [start, end) of offsets.
type span struct{ start, end int64 }

// feed runs the automaton over b from state s and appends, for every position
// where a pattern ends, the longest such pattern as a span (base is the
// offset of b[0]). It returns the new state.
func (m *matcher) feed(s int32, b []byte, base int64, out []span) (int32, []span) {
	for i := 0; i < len(b); i++ {
		if s == 0 {
			// At the root, bytes that begin no pattern are skipped cheaply.
			for i < len(b) && m.root[b[i]] < 0 {
				i++
			}
			if i == len(b) {
				break
			}
			s = m.root[b[i]]
		} else {
			s = m.step(s, b[i])
		}
		if l := m.maxOut[s]; l > 0 {
			end := base + int64(i) + 1
			out = append(out, span{end - int64(l), end})
		}
	}
	return s, out
}

// longestAt is the length of the longest pattern that starts at b[0] and fits
// in b, with its id, or 0, -1.
func (m *matcher) longestAt(b []byte) (int, int) {
	if len(b) == 0 {
		return 0, -1
	}
	s := m.root[b[0]]
	if s < 0 {
		return 0, -1
	}
	best, id := 0, -1
	for i := 1; ; i++ {
		if m.term[s] != 0 {
			best, id = i, int(m.term[s]-1)
		}
		if i == len(b) {
			break
		}
		if s = m.child(s, b[i]); s < 0 {
			break
		}
	}
	return best, id
}

// scan appends a span for every position of b where a pattern starts and
// ends inside b (the longest one there), in increasing order of start.
func (m *matcher) scan(b []byte, base int64, out []span) []span {
	if m.npat == 0 || len(b) < m.minLen {
		return out
	}
	if m.shift == nil {
		// Patterns too short for the skip table: plain automaton, then sort.
		_, found := m.feed(0, b, base, nil)
		slices.SortFunc(found, func(a, c span) int {
			if a.start != c.start {
				return int(a.start - c.start)
			}
			return int(c.end - a.end)
		})
		return append(out, found...)
	}
	w := m.window
	shift := m.shift
	n := len(b)
	i := 0
	for i+w <= n {
		k := uint16(b[i+w-2]) | uint16(b[i+w-1])<<8
		s := int(shift[k])
		if s != 0 {
			i += s
			continue
		}
		if l, _ := m.longestAt(b[i:]); l > 0 {
			out = append(out, span{base + int64(i), base + int64(i+l)})
		}
		i++
	}
	return out
}

// scanState is scan for a buffer that begins with the automaton at its root:
// besides the matches it returns the automaton state after b, which is the
// trie node of the earliest start whose walk is still alive at the end of b
// (the longest suffix of b that begins a pattern).
func (m *matcher) scanState(b []byte, base int64, out []span) ([]span, int32) {
	n := len(b)
	if m.npat == 0 || n == 0 {
		return out, 0
	}
	if m.shift == nil {
		s, out2 := m.feed(0, b, base, out)
		return out2, s
	}
	state := int32(-1)
	walk := func(i int) {
		s := m.root[b[i]]
		if s < 0 {
			return
		}
		best := 0
		for j := i + 1; ; j++ {
			if m.term[s] != 0 {
				best = j - i
			}
			if j == n {
				if state < 0 {
					state = s // the earliest start alive at the end
				}
				break
			}
			if s = m.child(s, b[j]); s < 0 {
				break
			}
		}
		if best > 0 {
			out = append(out, span{base + int64(i), base + int64(i+best)})
		}
	}
	w := m.window
	shift := m.shift
	i := 0
	for i+w <= n {
		k := uint16(b[i+w-2]) | uint16(b[i+w-1])<<8
		if sh := int(shift[k]); sh != 0 {
			i += sh
			continue
		}
		walk(i)
		i++
	}
	// Starts too close to the end for a full window: walk each.
	for i = max(n-w+1, 0); i < n; i++ {
		walk(i)
	}
	if state < 0 {
		state = 0
	}
	return out, state
}

// merge sorts spans by start and joins overlapping and adjacent ones, as the
// runner does before it writes ***.
func merge(sp []span) []span {
	if len(sp) < 2 {
		return sp
	}
	slices.SortFunc(sp, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	out := sp[:1]
	for _, s := range sp[1:] {
		last := &out[len(out)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// replaceAll returns b with every merged occurrence replaced by ***, and the
// number of replacements.
func (m *matcher) replaceAll(b []byte) ([]byte, int) {
	sp := merge(m.scan(b, 0, nil))
	if len(sp) == 0 {
		return b, 0
	}
	out := make([]byte, 0, len(b))
	prev := int64(0)
	for _, s := range sp {
		out = append(out, b[prev:s.start]...)
		out = append(out, "***"...)
		prev = s.end
	}
	out = append(out, b[prev:]...)
	return out, len(sp)
}
