package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/safetext"
)

// The Actions runner reads workflow commands from stdout AND stderr, and ends
// a line at \n or at a bare \r: any text keylease prints must stay on its own
// line, or a file name, flag or input could start a "::add-mask::" or
// "::set-output" line. Everything cmd/ prints goes through these helpers.

// safeLine makes s one printable line (see masking.OneLine).
func safeLine(s string) string { return masking.OneLine(s) }

// plainPath is a path that can be shown as it is.
var plainPath = regexp.MustCompile(`^[A-Za-z0-9._/+@=~-]+$`)

// shownPath is how a user-given path or name appears in a message: as it is
// when plain, else Go-quoted (control characters escaped, so it cannot end
// the line it is printed on); a token in it that looks like a key (a key
// pasted as a path, a file named after one) is a placeholder.
func shownPath(s string) string {
	if !plainPath.MatchString(s) {
		s = strconv.Quote(s)
	}
	return guard().Text(s)
}

// guard is the value-shape guard of this process (safetext).
func guard() safetext.Guard { return safetext.Process() }

// shownValue is a user-given name or setting as a message may show it: a
// placeholder when it looks like a key, else shownPath.
func shownValue(flag, s string) string {
	if det, ok := safetext.Hit(s); ok {
		return fmt.Sprintf("[the %s value, not shown: it looks like a key (%s detector)]", flag, det)
	}
	return shownPath(s)
}

// annotationData escapes one line of text as workflow command data, guarded.
func annotationData(s string) string { return masking.EscapeCommandData(guard().Line(s)) }

// propertyEscaper escapes a workflow command property value as the runner
// unescapes it.
var propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")

// escapeProperty escapes s as a workflow command property value (file=...),
// guarded. A control character other than \r and \n (which the runner
// unescapes) or a byte that is not UTF-8 is written as \xNN: the runner
// passes it through to the log, which renders ANSI sequences.
func escapeProperty(s string) string {
	return propertyEscaper.Replace(escapeControls(guard().Text(s)))
}

// escapeControls writes each control character of s but \r and \n, and
// each byte that is not UTF-8, as \xNN.
func escapeControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r', r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// flagErrorText is a flag parse error as a message may show it. The flag
// package quotes the offending argument; one that looks like a key (pasted
// into the wrong place) is not repeated.
func flagErrorText(err error) string {
	if det, ok := safetext.Hit(err.Error()); ok {
		return fmt.Sprintf("an argument is not a defined flag or a valid value (it looks like a key (%s detector), not shown)", det)
	}
	return err.Error()
}

// parseFlags parses a subcommand's flags. -h prints the usage lines and the
// flags on stdout and ends the command with exit 0; a bad flag is a usage
// error (exit 2) that repeats no value (flagErrorText).
func parseFlags(fs *flag.FlagSet, args []string, e *env, usage ...string) error {
	fs.SetOutput(io.Discard) // errors go through reportError, help below
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		for _, l := range usage {
			fmt.Fprintln(e.stdout, l)
		}
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return &exitError{code: exitOK}
	default:
		return usageError("%s: %s; run keylease %s -h for the flags", fs.Name(), flagErrorText(err), fs.Name())
	}
}
