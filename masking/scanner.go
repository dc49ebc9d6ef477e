package masking

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/keylease/keylease/detect"
)

// Finding is one hit of a scan. It never carries the matched text.
type Finding struct {
	Offset   int64  // byte offset in the scanned input
	Length   int    // length in bytes
	Detector string // "exact" (a form of a value in the Set), a vendor detector name, or "fingerprint"
	Ref      string // for a fingerprint hit: the ref the fingerprint belongs to
}

// ScanOptions configure a Scanner.
type ScanOptions struct {
	// Set: every form of its values is reported as "exact".
	Set *Set
	// Detectors: run the vendor format detectors.
	Detectors bool
	// Prefixes adds detectors for the policy's required_prefix values
	// (vendor -> prefix); implies Detectors.
	Prefixes map[string]string
	// Fingerprints maps the hex sha256 of a leaked value to its ref (SL8's
	// ops-only list). Detector hits and every token of 16 bytes or more
	// (runs of base64/URL-safe characters) are hashed and looked up.
	Fingerprints map[string]string
	// FingerprintLengths, when set, are the only value lengths the
	// fingerprints can have: tokens and detector hits of other lengths are
	// not hashed (a hash costs far more than finding a token's bounds).
	FingerprintLengths []int
	// SkipExamples: a vendor's documented example credential (AWS's
	// AKIA…EXAMPLE ids, see detect.Rule.ExampleSuffix) is not reported as
	// a detector finding; a fingerprint of it still is. For scans of
	// source trees, where these public, non-working values fill SDK tests
	// and documentation. Output masking and the record's checks leave it
	// false: there, anything credential-shaped is treated as one.
	SkipExamples bool
}

// Scanner finds registered values, vendor credentials and fingerprinted
// values in bytes, readers and files. It is safe for concurrent use.
type Scanner struct {
	set     *Set
	rules   *detect.Set // nil: no detectors
	anchors []anchor    // how candidate prefix positions are found
	fps     map[[32]byte]string
	lenOK   []bool // lenOK[n]: a fingerprint may be n bytes long; nil: any length
	minTok  int    // the shortest token worth looking at
	overlap int
	// skipExamples: see ScanOptions.SkipExamples.
	skipExamples bool
}

// NewScanner returns a Scanner for opts.
func NewScanner(opts ScanOptions) *Scanner {
	sc := &Scanner{set: opts.Set, overlap: maxToken, minTok: minToken, skipExamples: opts.SkipExamples}
	if len(opts.Fingerprints) > 0 {
		sc.fps = make(map[[32]byte]string, len(opts.Fingerprints))
		for h, ref := range opts.Fingerprints {
			if sum, ok := parseFingerprint(h); ok {
				sc.fps[sum] = ref
			}
		}
	}
	if len(opts.FingerprintLengths) > 0 {
		sc.lenOK = make([]bool, maxToken+3) // +2: a token's '=' padding
		for _, n := range opts.FingerprintLengths {
			if n > 0 && n < len(sc.lenOK) {
				sc.lenOK[n] = true
			}
		}
		// A token two shorter than the shortest length may reach it with
		// '=' padding; shorter ones never do, so the walk skips further.
		sc.minTok = max(minToken, slices.Min(opts.FingerprintLengths)-2)
	}
	if opts.Detectors || len(opts.Prefixes) > 0 {
		sc.rules = detect.NewSet(detect.WithPolicy(opts.Prefixes))
		var pats [][]byte
		for _, p := range sc.rules.Prefixes() {
			pats = append(pats, []byte(p))
		}
		sc.anchors = anchorsFor(pats)
	}
	return sc
}

// anchor finds candidate prefix positions by searching for one rare byte of
// each prefix with bytes.IndexByte (vectorised), instead of walking every
// byte: prefixes are as short as 3 bytes, too short for a useful skip.
type anchor struct {
	c     byte
	users []anchorUse
}

type anchorUse struct {
	off    int // offset of c in prefix
	prefix []byte
}

// byteCommonness estimates how often a byte occurs in logs, source and
// JSON (English letter frequencies; upper case rarer; digits and code
// punctuation common).
func byteCommonness(c byte) float64 {
	f := [26]float64{8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4,
		6.7, 7.5, 1.9, 0.1, 6.0, 6.3, 9.1, 2.8, 1.0, 2.4, 0.15, 2.0, 0.07}
	switch {
	case 'a' <= c && c <= 'z':
		return f[c-'a'] // #nosec G602 -- c is in a..z
	case 'A' <= c && c <= 'Z':
		return f[c-'A'] / 8 // #nosec G602 -- c is in A..Z
	case '0' <= c && c <= '9', c == ' ', c == '"', c == '.', c == '/', c == '=', c == ':', c == ',', c == '-':
		return 3
	case c == '_':
		return 1
	}
	return 0.5
}

// anchorCost estimates what searching for c costs: a vectorised pass over
// the input plus the work at every hit, in byteCommonness units (measured
// with BenchmarkScanner: a pass costs about as much as the hits of a byte
// of commonness 0.3).
func anchorCost(c byte) float64 { return 0.3 + byteCommonness(c) }

// anchorsFor picks the set of anchor bytes that covers every prefix at the
// least estimated cost: greedily first, then improved by trying each other
// byte in place of the anchors it makes redundant ('-' serves "sk-",
// "xai-" and "glpat-" in one pass, cheaper than 'k', 'x' and 'p' apart).
// Each prefix then uses its cheapest chosen byte.
func anchorsFor(pats [][]byte) []anchor {
	var todo [][]byte
	var cands []byte // every byte of a prefix, once, ascending
	for _, p := range pats {
		// A prefix that extends a shorter one ("sk-proj-" of "sk-") is found
		// through it: detect.Set.At tries every prefix at a start.
		if !slices.ContainsFunc(pats, func(q []byte) bool { return len(q) < len(p) && bytes.HasPrefix(p, q) }) {
			todo = append(todo, p)
			cands = append(cands, p...)
		}
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	type byteSet = [256]bool
	hasAny := func(set *byteSet, p []byte) bool { return slices.ContainsFunc(p, func(c byte) bool { return set[c] }) }
	covered := func(set *byteSet) bool {
		for _, p := range todo {
			if !hasAny(set, p) {
				return false
			}
		}
		return true
	}
	total := func(set *byteSet) float64 {
		t := 0.0
		for _, c := range cands {
			if set[c] {
				t += anchorCost(c)
			}
		}
		return t
	}
	// Greedy: the byte that covers most new prefixes per unit of cost.
	var chosen byteSet
	for !covered(&chosen) {
		var best byte
		bestRatio := 0.0
		for _, c := range cands {
			n := 0
			for _, p := range todo {
				if !chosen[c] && bytes.IndexByte(p, c) >= 0 && !hasAny(&chosen, p) {
					n++
				}
			}
			if r := float64(n) / anchorCost(c); r > bestRatio {
				best, bestRatio = c, r
			}
		}
		chosen[best] = true
	}
	// Improve: add a byte, drop what it makes redundant (dearest first),
	// keep the change when it is cheaper; until nothing improves.
	for improved := true; improved; {
		improved = false
		for _, c := range cands {
			if chosen[c] {
				continue
			}
			next := chosen
			next[c] = true
			var order []byte
			for _, d := range cands {
				if next[d] && d != c {
					order = append(order, d)
				}
			}
			slices.SortStableFunc(order, func(a, b byte) int { return cmpFloat(anchorCost(b), anchorCost(a)) })
			for _, d := range order {
				next[d] = false
				if !covered(&next) {
					next[d] = true
				}
			}
			if total(&next) < total(&chosen)-1e-9 {
				chosen, improved = next, true
			}
		}
	}
	var out []anchor
	index := map[byte]int{}
	for _, p := range todo {
		best := -1
		for i, c := range p {
			if chosen[c] && (best < 0 || anchorCost(c) < anchorCost(p[best])) {
				best = i
			}
		}
		c := p[best]
		k, ok := index[c]
		if !ok {
			k = len(out)
			index[c] = k
			out = append(out, anchor{c: c})
		}
		out[k].users = append(out[k].users, anchorUse{off: best, prefix: p})
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// prefixStarts appends the sorted, unique positions of b where a detector
// prefix starts. It works through b in blocks that stay in cache while every
// anchor byte is searched.
func (sc *Scanner) prefixStarts(b []byte, starts []int) []int {
	const block = 64 << 10
	for lo := 0; lo < len(b); lo += block {
		hi := min(lo+block, len(b))
		for _, a := range sc.anchors {
			for i := lo; i < hi; {
				j := bytes.IndexByte(b[i:hi], a.c)
				if j < 0 {
					break
				}
				j += i
				for _, u := range a.users {
					// Most hits of an anchor byte are not a prefix: the
					// prefix's first byte, compared inline, turns almost
					// all of them away before a call compares the rest.
					if st := j - u.off; st >= 0 && b[st] == u.prefix[0] && bytes.HasPrefix(b[st:], u.prefix) {
						starts = append(starts, st)
					}
				}
				i = j + 1
			}
		}
	}
	slices.Sort(starts)
	return slices.Compact(starts)
}

// ValidFingerprint reports whether h is a hex sha256 (64 hex digits, either
// case). NewScanner ignores entries that are not: check a list with it first.
func ValidFingerprint(h string) bool {
	_, ok := parseFingerprint(h)
	return ok
}

func parseFingerprint(h string) ([32]byte, bool) {
	var sum [32]byte
	if len(h) != 64 {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil {
		return sum, false
	}
	return sum, true
}

// tokenChars are the bytes of a fingerprint candidate token.
// '=' ends a token (key=value) but trailing padding is tried as well.
var tokenChars = charset("A-Za-z0-9_+/.~-")

const minToken = 16

// Scan returns the findings in b, ordered by offset.
func (sc *Scanner) Scan(b []byte) []Finding {
	return sc.scan(b, 0, 0, len(b))
}

// scan reports findings that start in [from, limit); the bytes before from
// are context only (the byte before a vendor prefix decides a word boundary).
func (sc *Scanner) scan(b []byte, base int64, from, limit int) []Finding {
	var out []Finding
	if sc.set != nil {
		m := sc.set.matcher()
		for _, s := range merge(m.scan(b, 0, nil)) {
			if int(s.start) >= from && int(s.start) < limit {
				out = append(out, Finding{Offset: base + s.start, Length: int(s.end - s.start), Detector: "exact"})
			}
		}
	}
	if sc.rules != nil {
		for _, start := range sc.prefixStarts(b, nil) {
			if start < from || start >= limit || (start > 0 && alnum[b[start-1]]) {
				continue
			}
			if r, n := sc.rules.At(b[start:]); n > 0 {
				rule, m := sc.rules.Rule(r), b[start:start+n]
				if !sc.skipExamples || !rule.IsExample(m) {
					out = append(out, Finding{Offset: base + int64(start), Length: n, Detector: rule.ID})
				}
				if ref, ok := sc.fingerprint(m); ok {
					out = append(out, Finding{Offset: base + int64(start), Length: n, Detector: "fingerprint", Ref: ref})
				}
			}
		}
	}
	if len(sc.fps) > 0 {
		sc.scanTokens(b, base, from, limit, &out)
	}
	slices.SortStableFunc(out, func(a, c Finding) int { return cmp.Compare(a.Offset, c.Offset) })
	return dedupeFindings(out)
}

func (sc *Scanner) lengthListed(n int) bool {
	return sc.lenOK == nil || (n < len(sc.lenOK) && sc.lenOK[n])
}

func (sc *Scanner) fingerprint(tok []byte) (string, bool) {
	if len(sc.fps) == 0 || !sc.lengthListed(len(tok)) {
		return "", false
	}
	sum := sha256.Sum256(tok)
	ref, ok := sc.fps[sum]
	return ref, ok
}

// scanTokens hashes every maximal token of at least minToken bytes, the
// token with up to two '=' of padding that follow it, and the token without
// trailing dots.
func (sc *Scanner) scanTokens(b []byte, base int64, from, limit int, out *[]Finding) {
	tc := *tokenChars // a local copy: no pointer chase or nil check per byte
	minTok := sc.minTok
	n := len(b)
	i := 0
	for i < n && i < limit {
		// A token of minTok bytes starting in [i, i+minTok) covers
		// b[i+minTok-1]; when that byte cannot be in a token, skip them all.
		p := i + minTok - 1
		if p >= n {
			break
		}
		if !tc[b[p]] {
			i = p + 1
			continue
		}
		s := p
		for s > i && tc[b[s-1]] {
			s--
		}
		j := p + 1
		for j < n && j-s < maxToken && tc[b[j]] {
			j++
		}
		if j-s >= minTok && s >= from && s < limit && sc.anyLengthListed(b[s:j]) && mixedClasses(b[s:j]) {
			sc.tokenFingerprint(b, s, j, base, out)
		}
		i = j + 1
	}
}

// anyLengthListed reports whether the token tok, or one of its candidates
// (up to two '=' added, trailing dots cut), may be fingerprinted.
func (sc *Scanner) anyLengthListed(tok []byte) bool {
	if sc.lenOK == nil {
		return true
	}
	n := len(tok)
	if n+2 < len(sc.lenOK) && (sc.lenOK[n] || sc.lenOK[n+1] || sc.lenOK[n+2]) {
		return true
	}
	return tok[n-1] == '.' && sc.minTok < n
}

// tokenFingerprint looks up the token b[i:j], the token with up to two '='
// of padding that follow it, and the token without trailing dots.
func (sc *Scanner) tokenFingerprint(b []byte, i, j int, base int64, out *[]Finding) {
	cands := [3]int{j, j, j}
	pad := j
	for pad < len(b) && pad-j < 2 && b[pad] == '=' {
		pad++
	}
	cands[1] = pad
	cands[2] = i + len(trimRight(b[i:j], "."))
	for k, end := range cands {
		if end-i < minToken || (k > 0 && end == j) {
			continue
		}
		if ref, ok := sc.fingerprint(b[i:end]); ok {
			*out = append(*out, Finding{Offset: base + int64(i), Length: end - i, Detector: "fingerprint", Ref: ref})
			return
		}
	}
}

// mixedClasses reports whether tok holds at least two of lower-case letters,
// upper-case letters and digits, as generated keys do and paths and words do
// not; only such tokens are worth hashing.
func mixedClasses(tok []byte) bool {
	var lower, upper, digit int
	for _, c := range tok {
		switch {
		case 'a' <= c && c <= 'z':
			lower = 1
		case 'A' <= c && c <= 'Z':
			upper = 1
		case '0' <= c && c <= '9':
			digit = 1
		}
		if lower+upper+digit >= 2 {
			return true
		}
	}
	return false
}

func trimRight(b []byte, cut string) []byte {
	for len(b) > 0 {
		c := b[len(b)-1]
		found := false
		for k := 0; k < len(cut); k++ {
			if cut[k] == c {
				found = true
			}
		}
		if !found {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

func dedupeFindings(fs []Finding) []Finding {
	if len(fs) < 2 {
		return fs
	}
	out := fs[:1]
	for _, f := range fs[1:] {
		if f == out[len(out)-1] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// chunkSize is how much ScanReader reads at a time; memory stays at about
// chunkSize plus the overlap whatever the input's length.
const chunkSize = 1 << 20

// ScanReader scans r in chunks that overlap by the longest possible finding,
// so a finding split across reads is still reported, once.
func (sc *Scanner) ScanReader(r io.Reader) ([]Finding, error) {
	ov := sc.overlap
	if sc.set != nil {
		ov = max(ov, sc.set.matcher().maxLen)
	}
	buf := make([]byte, 0, chunkSize+ov)
	var base int64
	var out []Finding
	eof, from := false, 0
	for !eof {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			eof = true
		case err != nil:
			return out, fmt.Errorf("masking: scan: read: %w", err)
		}
		limit := len(buf)
		if !eof {
			limit = len(buf) - ov // what starts later is scanned with the next chunk
		}
		out = append(out, sc.scan(buf, base, from, limit)...)
		if eof {
			break
		}
		// Keep one byte before the next start as context.
		keep := max(limit-1, 0)
		k := copy(buf, buf[keep:])
		buf = buf[:k]
		base += int64(keep)
		from = limit - keep
	}
	clear(buf[:cap(buf)])
	return out, nil
}

// ScanFile scans the file at path.
func (sc *Scanner) ScanFile(path string) ([]Finding, error) {
	f, err := os.Open(path) // #nosec G304 -- the user names the files to scan
	if err != nil {
		return nil, fmt.Errorf("masking: scan %s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	fs, err := sc.ScanReader(f)
	if err != nil {
		return fs, fmt.Errorf("masking: scan %s: %w", path, err)
	}
	return fs, nil
}
