package child

import (
	"errors"
	"io"
	"runtime/debug"
	"sync"
)

// PanicError reports that a writer of the child's output (the caller's
// redactor) panicked. The child's group and descendants were killed. Its
// message is fixed; Value and Stack may hold anything the writer held (a
// leased value): print them only sanitized, never raw.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return "internal error (panic) while copying the command's output; the command and its descendants were killed"
}

var errWriterPanicked = errors.New("output writer panicked")

// guard recovers a panic of the wrapped writers: os/exec calls them from
// goroutines of its own, where a panic would end the process with the
// runtime's raw panic print (value and stack unsanitized) and leave the
// child running. The first panic is kept and announced on panicked.
type guard struct {
	once     sync.Once
	panicked chan struct{}
	err      *PanicError
}

func newGuard() *guard { return &guard{panicked: make(chan struct{})} }

type guardedWriter struct {
	g *guard
	w io.Writer
}

func (g *guard) wrap(w io.Writer) io.Writer { return &guardedWriter{g: g, w: w} }

func (gw *guardedWriter) Write(p []byte) (n int, err error) {
	select {
	case <-gw.g.panicked:
		return 0, errWriterPanicked // stop copying: the writer's state is unknown
	default:
	}
	defer func() {
		if v := recover(); v != nil {
			gw.g.once.Do(func() {
				gw.g.err = &PanicError{Value: v, Stack: debug.Stack()}
				close(gw.g.panicked)
			})
			n, err = 0, errWriterPanicked
		}
	}()
	return gw.w.Write(p)
}

// result is the recovered panic, if any; call it after the copying ended.
func (g *guard) result() *PanicError {
	select {
	case <-g.panicked:
		return g.err
	default:
		return nil
	}
}
