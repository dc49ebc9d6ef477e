package masking

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/keylease/keylease/secret"
)

// Options tune a Set.
type Options struct {
	// AllowShort accepts values shorter than MinLen bytes (policy flag
	// allow_short_values). They are masked, but so is every chance occurrence
	// of them in ordinary output.
	AllowShort bool
}

// ErrShortValue is returned (wrapped) by Add for a value shorter than MinLen
// bytes when Options.AllowShort is not set.
var ErrShortValue = errors.New("value too short to mask reliably")

// MaxLen is the longest value a Set accepts (1 MiB: far above any key,
// certificate bundle or token, and it keeps the matcher's tables in int32).
const MaxLen = 1 << 20

// ErrLongValue is returned (wrapped) by Add for a value longer than MaxLen.
var ErrLongValue = errors.New("value too long to mask")

// ErrEmptyValue is returned by Add for an empty or white-space-only value.
var ErrEmptyValue = errors.New("value is empty")

// Set is the set of values to keep out of output, with every form they can
// take. It is safe for concurrent use; redactors created from it see values
// added later.
type Set struct {
	opts Options

	mu     sync.Mutex
	seen   map[[32]byte]bool // sha256 of values added, to ignore repeats
	forms  [][]byte
	known  map[[32]byte]bool // sha256 of forms, to keep forms unique
	values int

	// m is the matcher for forms, built on first use: nil after an Add until
	// a redactor, Sanitize or a scan needs it. Building it per Add cost a
	// lease the square of its values (every form of every value, per value).
	m atomic.Pointer[matcher]
}

// NewSet returns an empty Set.
func NewSet(opts Options) *Set {
	s := &Set{opts: opts, seen: map[[32]byte]bool{}, known: map[[32]byte]bool{}}
	s.m.Store(emptyMatcher)
	return s
}

// Add computes every form of v and adds them. A value shorter than MinLen
// bytes is refused with ErrShortValue unless the Set allows short values; the
// error names the length, never the value. Adding a value twice is a no-op.
func (s *Set) Add(v secret.Value) error {
	b := v.Bytes()
	s.mu.Lock()
	allowShort := s.opts.AllowShort
	s.mu.Unlock()
	if len(trimSpace(b)) == 0 {
		return fmt.Errorf("masking: %w: nothing to mask", ErrEmptyValue)
	}
	// White space around a value does not make it long enough: the trimmed
	// value is masked on its own (see units).
	if n := len(bytes.TrimFunc(b, unicode.IsSpace)); n < MinLen && !allowShort {
		return fmt.Errorf("masking: %w: a value of %d bytes without surrounding white space (at least %d needed); "+
			"use a longer secret or set flags.allow_short_values in the policy", ErrShortValue, n, MinLen)
	}
	if len(b) > MaxLen {
		return fmt.Errorf("masking: %w: a value of %d bytes (at most %d)", ErrLongValue, len(b), MaxLen)
	}
	key := sha256.Sum256(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[key] {
		return nil
	}
	s.seen[key] = true
	s.values++
	for _, f := range redactionForms(b) {
		fk := sha256.Sum256(f)
		if s.known[fk] {
			continue
		}
		s.known[fk] = true
		s.forms = append(s.forms, append([]byte(nil), f...))
	}
	s.m.Store(nil) // rebuilt by the next user, with every form added so far
	return nil
}

// SetOptions changes the Set's options for values added from now on (the
// process-wide Set learns the policy's allow_short_values this way).
func (s *Set) SetOptions(opts Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = opts
}

// Stats reports how many values and distinct forms the Set holds (for the
// run record's masking figures).
func (s *Set) Stats() (values, forms int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values, len(s.forms)
}

// Wipe zeroes the Set's copies of every form and empties it.
func (s *Set) Wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.forms {
		clear(f)
	}
	s.forms = nil
	s.values = 0
	s.seen = map[[32]byte]bool{}
	s.known = map[[32]byte]bool{}
	s.m.Store(emptyMatcher)
}

// emptyMatcher matches nothing; immutable like every matcher.
var emptyMatcher = newMatcher(nil)

// matcher returns the matcher for every form added so far, building it when
// values were added since it was last built. A caller that loaded a matcher
// before a concurrent Add keeps using that one, as it would have before.
func (s *Set) matcher() *matcher {
	if m := s.m.Load(); m != nil {
		return m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m.Load()
	if m == nil {
		// Under mu, so forms is complete and no other goroutine builds too.
		m = newMatcher(s.forms)
		s.m.Store(m)
	}
	return m
}

var process = NewSet(Options{})

// Process is the process-wide Set: every value keylease leases is added to
// it, and main's error printer and panic handler sanitize with it.
func Process() *Set { return process }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}
