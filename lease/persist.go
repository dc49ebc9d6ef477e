package lease

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"
)

// fileGuard remembers the runner's file commands as they were before the
// child ran. Under no_persistence the child does not get their paths, but
// it could still find them; afterwards what it changed is scanned and, if a
// leased form or a vendor key is in it, the file is put back as it was. The
// job summary is guarded the same way: the child keeps its path (a summary
// of its own is fine) but not a value in it. A file the child rewrote
// rather than appended to (`>` instead of `>>`) is scanned whole.
type fileGuard struct {
	files []guarded
}

// maxGuardedFile bounds what the guard keeps and reads of one file: the
// runner caps a step summary at 1 MiB, and the other file commands start
// empty for each step. A file larger than this after the child is put back
// unread (it cannot be checked), and reported.
const maxGuardedFile = 16 << 20

type guarded struct {
	name, path string
	before     []byte // the content before the child; nil when there was no file
}

func newFileGuard(getenv func(string) string) *fileGuard {
	g := &fileGuard{}
	for _, name := range guardedFiles() {
		p := getenv(name)
		if p == "" {
			continue
		}
		b, big, err := readCapped(p)
		if err != nil || big {
			// Unreadable or already over the bound: the check afterwards
			// finds it changed (or unreadable) and says so.
			b = nil
		}
		g.files = append(g.files, guarded{name: name, path: p, before: b})
	}
	return g
}

// check scans what the child changed and puts a file back when scan finds
// anything (or the file grew past what can be checked). It returns the names
// of the files it put back.
func (g *fileGuard) check(scan func([]byte) int) ([]string, error) {
	var rolled []string
	var errs []error
	for _, f := range g.files {
		cur, big, err := readCapped(f.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("check %s after the command: %w", f.name, err))
			continue
		}
		changed := cur
		if bytes.HasPrefix(cur, f.before) {
			changed = cur[len(f.before):] // appended only
		}
		leak := big || (len(changed) > 0 && scan(changed) > 0)
		clear(cur)
		if !leak {
			continue
		}
		if err := restore(f.path, f.before); err != nil {
			errs = append(errs, fmt.Errorf("roll back %s: %w; remove the leased value from %s by hand", f.name, err, f.path))
			continue
		}
		rolled = append(rolled, f.name)
	}
	return rolled, errors.Join(errs...)
}

// restore puts back the content a file had before the child, in place (the
// runner holds the path, not a descriptor, and reads it after the step).
func restore(path string, before []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0) //nolint:gosec // the runner's file command path
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, werr := f.Write(before)
	return errors.Join(werr, f.Close())
}

// stepSummary is the job summary's file command.
const stepSummary = "GITHUB_STEP_SUMMARY"

// guardedFiles are the file commands checked after the child: those it
// does not get under no_persistence, and the job summary.
func guardedFiles() []string {
	return append(slices.Clone(persistence), stepSummary)
}

// readCapped reads a whole file, at most maxGuardedFile bytes; big says it
// holds more. A missing file reads as empty.
func readCapped(path string) (b []byte, big bool, err error) {
	f, err := os.Open(path) //nolint:gosec // the runner's file command path
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = f.Close() }() // read-only
	b, err = io.ReadAll(io.LimitReader(f, maxGuardedFile+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > maxGuardedFile {
		clear(b)
		return nil, true, nil
	}
	return b, false, nil
}

// persistingCommands are the workflow commands through which a line of the
// child's output reaches later steps (outputs, state, environment, PATH).
// The runner matches them case-insensitively; so does the guard.
var persistingCommands = []string{"set-output", "save-state", "set-env", "add-path"}

// maxCommandName bounds the command name the guard collects.
const maxCommandName = 16

// maxHeldCommand is the longest persisting command line the guard holds to
// check it; a longer one is dropped and refused unchecked (no value is that
// long: masking refuses values over 1 MiB, and its escapes stay below this).
const maxHeldCommand = 8 << 20

// commandGuard is the stdout (and stderr: the runner reads workflow commands
// from both) of the child under no_persistence, in front of its redactor. A
// line that is a persisting workflow command, "::set-output name=x::v" (after
// leading white space, as the runner trims it) or "##[set-output name=x;]v"
// (the legacy form, anywhere in a line), is held from the end of the command
// name to the end of the line: the runner acts on a command only when its
// line ends, so holding it delays nothing the runner does. Then the held
// part is scanned; with a leased form or a vendor key in it the line is
// dropped (only its line break passes) and the command is refused, else it
// passes. Every other byte passes at once.
//
// It must see the child's bytes before the redactor does: the redactor
// replaces a form by ***, runs no vendor detectors and has already written
// the start of the line when the form completes, so a guard after it could
// neither see every hit nor keep the line from the runner.
type commandGuard struct {
	w    io.Writer
	scan func([]byte) int

	mu      sync.Mutex
	st      cmdState
	v1      bool   // the name being collected follows "##[" (else "::")
	name    []byte // the command name so far, lower-cased
	pending []byte // a partial UTF-8 sequence in the leading white space
	hashes  int    // bytes of "##" seen just before
	cmd     string // the persisting command being held
	held    []byte
	refused []string
	err     error
}

type cmdState uint8

const (
	stLead  cmdState = iota // line start, in leading white space
	stColon                 // one ':' after the leading white space
	stName                  // collecting a command name
	stBody                  // an ordinary line
	stHold                  // holding a persisting command to the line's end
	stDrop                  // dropping a persisting command too long to hold
)

func newCommandGuard(w io.Writer, scan func([]byte) int) *commandGuard {
	return &commandGuard{w: w, scan: scan}
}

// Write passes p on, holding persisting command lines; it returns len(p)
// unless the underlying writer failed.
func (g *commandGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	start := 0 // p[start:i] passes when the state leaves pass-through
	var sk skipper
	for i := 0; i < len(p); i++ {
		c := p[i]
		eol := c == '\n' || c == '\r' // the runner ends a line at either
		switch g.st {
		case stHold, stDrop:
			if !eol {
				if g.st == stHold {
					g.held = append(g.held, c)
					if len(g.held) > maxHeldCommand {
						g.refuse(g.cmd + " (too long to check)")
						g.st = stDrop
					}
				}
				start = i + 1
				continue
			}
			if err := g.endHeld(); err != nil {
				return 0, err
			}
			start = i // the line break passes
			g.st = stLead
			continue
		case stBody:
			if g.hashes == 0 {
				// Skip to the next byte that matters.
				if i = sk.next(p, i); i == len(p) {
					continue
				}
				c = p[i]
				eol = c != '#'
			}
		}
		if eol {
			g.newLine()
			continue
		}
		g.step(c)
		if g.st == stHold {
			// The name's terminator passes; what follows is held.
			if _, err := g.w.Write(p[start : i+1]); err != nil {
				g.err = err
				return 0, err
			}
			start = i + 1
		}
	}
	if start < len(p) && g.st != stHold && g.st != stDrop {
		if _, err := g.w.Write(p[start:]); err != nil {
			g.err = err
			return 0, err
		}
	}
	return len(p), nil
}

// skipper finds the next line break or '#' in a write with one vectorized
// search per byte value (bytes.IndexAny over three bytes is a byte loop),
// remembering each result until the scan passes it.
type skipper struct {
	at [3]int // the next offset of '\n', '\r', '#' found (len(p) for none)
	ok [3]bool
}

func (s *skipper) next(p []byte, i int) int {
	n := len(p)
	for k, c := range [3]byte{'\n', '\r', '#'} {
		if !s.ok[k] || s.at[k] < i {
			j := bytes.IndexByte(p[i:], c)
			if j < 0 {
				s.at[k] = n
			} else {
				s.at[k] = i + j
			}
			s.ok[k] = true
		}
	}
	return min(s.at[0], s.at[1], s.at[2])
}

func (g *commandGuard) newLine() {
	g.st, g.hashes = stLead, 0
	g.name, g.pending = g.name[:0], g.pending[:0]
}

// step advances the line's state by one byte that is not a line break.
func (g *commandGuard) step(c byte) {
	switch g.st {
	case stLead:
		switch {
		case len(g.pending) > 0 || c >= utf8.RuneSelf:
			// .NET's TrimStart also skips Unicode white space.
			g.pending = append(g.pending, c)
			if !utf8.FullRune(g.pending) {
				return
			}
			r, _ := utf8.DecodeRune(g.pending)
			if !unicode.IsSpace(r) {
				for _, b := range g.pending {
					g.body(b) // an invalid sequence may end in '#'
				}
			}
			g.pending = g.pending[:0]
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
		case c == ':':
			g.st = stColon
		default:
			g.body(c)
		}
	case stColon:
		if c == ':' {
			g.st, g.v1, g.name = stName, false, g.name[:0]
			return
		}
		g.body(c)
	case stName:
		if c == ' ' || (!g.v1 && c == ':') || (g.v1 && c == ']') {
			if cmd, ok := persisting(g.name); ok {
				g.st, g.cmd = stHold, cmd
				return
			}
			g.body(c)
			return
		}
		if len(g.name) < maxCommandName && (c == '-' || 'a' <= c|0x20 && c|0x20 <= 'z') {
			g.name = append(g.name, c|0x20)
			return
		}
		g.body(c)
	case stBody:
		g.body(c)
	}
}

// body looks for the legacy "##[" in an ordinary line.
func (g *commandGuard) body(c byte) {
	g.st = stBody
	switch {
	case c == '#':
		g.hashes = min(g.hashes+1, 2)
	case c == '[' && g.hashes == 2:
		g.st, g.v1, g.name, g.hashes = stName, true, g.name[:0], 0
	default:
		g.hashes = 0
	}
}

func persisting(name []byte) (string, bool) {
	for _, c := range persistingCommands {
		if string(name) == c {
			return c, true
		}
	}
	return "", false
}

// endHeld decides a held command at its line's end: refused and dropped
// when the scan finds anything, else written on.
func (g *commandGuard) endHeld() error {
	defer func() {
		clear(g.held)
		g.held = g.held[:0]
	}()
	if g.st == stDrop {
		return nil
	}
	if g.scan(g.held) > 0 {
		g.refuse(g.cmd)
		return nil
	}
	if len(g.held) == 0 {
		return nil
	}
	if _, err := g.w.Write(g.held); err != nil {
		g.err = err
		return err
	}
	return nil
}

func (g *commandGuard) refuse(cmd string) { g.refused = append(g.refused, cmd) }

// Close decides a command still held (the runner acts on a last line
// without a line break too). It does not close the underlying writer. A nil
// guard (persistence allowed) does nothing.
func (g *commandGuard) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	if g.st == stHold || g.st == stDrop {
		err := g.endHeld()
		g.newLine()
		return err
	}
	return nil
}

// Refused names the persisting commands the guard dropped, in order (value
// free: fixed command names). A nil guard refuses nothing.
func (g *commandGuard) Refused() []string {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.refused)
}
