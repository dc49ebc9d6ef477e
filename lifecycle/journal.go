package lifecycle

import (
	"fmt"
	"io"
	"time"
)

// journal is how a lifecycle command reports its progress: value-free
// lines on out ("keylease rotate openai.ci: …"), steps in its record, and
// the tests' crash points. Every text passes the mask first.
type journal struct {
	prefix  string // "keylease rotate openai.ci"
	out     io.Writer
	mask    Masker
	now     func() time.Time
	steps   *[]Step
	crashAt func(step string) error
}

func (j journal) say(format string, args ...any) {
	fmt.Fprintf(j.out, "%s: %s\n", j.prefix, j.mask.Sanitize(fmt.Sprintf(format, args...)))
}

func (j journal) step(name, outcome, detail string) {
	*j.steps = append(*j.steps, Step{Name: name, At: j.now().UTC(), Outcome: outcome, Detail: j.mask.Sanitize(detail)})
}

func (j journal) crash(step string) error {
	if j.crashAt == nil {
		return nil
	}
	return j.crashAt(step)
}
