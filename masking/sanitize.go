package masking

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Sanitize returns str with every form of every value in the Set replaced by
// ***. Use it on anything that leaves the process and was not built from
// value-free parts alone: error strings, panic values, stack traces, debug
// logs.
func (s *Set) Sanitize(str string) string {
	m := s.matcher()
	if m.npat == 0 || len(str) < m.minLen {
		return str
	}
	out, n := m.replaceAll([]byte(str))
	if n == 0 {
		return str
	}
	return string(out)
}

// SanitizeError returns err unchanged when its message holds no form, else an
// error whose message is sanitized. The result still unwraps to err so that
// errors.Is and errors.As keep working (exit codes are chosen that way);
// print the result, never what it unwraps to.
func (s *Set) SanitizeError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := s.Sanitize(msg)
	if clean == msg {
		return err
	}
	return &sanitizedError{msg: clean, err: err}
}

type sanitizedError struct {
	msg string
	err error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.err }

// HandlePanic is deferred first thing in main. On a panic it prints the panic
// value and the stack, both sanitized with s, to w and exits with status 1;
// the runtime's own panic output, which would print them raw, never runs.
// (A panic in another goroutine cannot be recovered and is printed by the
// runtime: keylease code does not panic on purpose.)
func HandlePanic(s *Set, w io.Writer) {
	v := recover()
	if v == nil {
		return
	}
	writePanic(s, w, v, debug.Stack())
	os.Exit(1)
}

// writePanic prints a recovered panic value and its stack, sanitized.
func writePanic(s *Set, w io.Writer, v any, stack []byte) {
	msg := s.Sanitize(fmt.Sprint(v))
	msg = strings.ReplaceAll(msg, "\n", "; ")
	_, _ = fmt.Fprintf(w, "keylease: internal error (panic): %s\n%s\n", msg, s.Sanitize(string(stack)))
}
