package lease

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/keylease/keylease/record"
)

// runner is what keylease does when GITHUB_ACTIONS=true: workflow commands
// on the raw stdout (never through the redactor, which would mask them),
// outputs and the job summary in the runner's files.
type runner struct {
	on       bool
	debug    bool
	getenv   func(string) string
	gha      *githubactions.Action
	sanitize func(string) string
}

func newRunner(getenv func(string) string, stdout io.Writer, sanitize func(string) string) *runner {
	return &runner{
		on:       getenv("GITHUB_ACTIONS") == "true",
		debug:    getenv("RUNNER_DEBUG") == "1",
		getenv:   getenv,
		gha:      githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout)),
		sanitize: sanitize,
	}
}

func (r *runner) group(title string) {
	if r.on {
		r.gha.Group(title)
	}
}

func (r *runner) endGroup() {
	if r.on {
		r.gha.EndGroup()
	}
}

// debugf prints a ::debug:: line only with RUNNER_DEBUG=1, sanitized.
// go-githubactions escapes the command data (%, CR, LF) itself.
func (r *runner) debugf(format string, args ...any) {
	if r.on && r.debug {
		r.gha.Debugf("%s", r.sanitize(fmt.Sprintf(format, args...)))
	}
}

// setOutputs appends value-free outputs to GITHUB_OUTPUT, each in a heredoc
// with a random delimiter so that no value can end it early.
func (r *runner) setOutputs(kv [][2]string) error {
	path := r.getenv("GITHUB_OUTPUT")
	if !r.on || path == "" {
		return nil
	}
	var b strings.Builder
	for _, p := range kv {
		var rnd [16]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return fmt.Errorf("GITHUB_OUTPUT delimiter: %w", err)
		}
		delim := "ghadelimiter_" + hex.EncodeToString(rnd[:])
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", p[0], delim, p[1], delim)
	}
	return appendFile(path, "GITHUB_OUTPUT", b.String())
}

func appendFile(path, name, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0) //nolint:gosec // the runner's file command path
	if err != nil {
		return fmt.Errorf("%s (%s): %w; the runner creates it, do not override the variable", name, path, err)
	}
	_, werr := f.WriteString(s)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write %s (%s): %w", name, path, err)
	}
	return nil
}

// summary appends the value-free lease table to GITHUB_STEP_SUMMARY.
func (r *runner) summary(rec *record.Record, recordPath string, leakErr error) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if !r.on || path == "" {
		return nil
	}
	return appendFile(path, "GITHUB_STEP_SUMMARY", Summary(rec, recordPath, leakErr))
}

// Summary renders the job summary: one row per lease and the result. It
// holds refs, names, times and counts only.
func Summary(rec *record.Record, recordPath string, leakErr error) string {
	var b strings.Builder
	b.WriteString("### keylease\n\n")
	b.WriteString("| variable | vendor | ref | environment | ttl | expires (UTC) | version | outcome |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, l := range rec.Leases {
		exp := ""
		if !l.ExpiresAt.IsZero() {
			exp = l.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s | %ds | %s | %s | %s |\n",
			cell(l.EnvVar), cell(l.Vendor), cell(l.Ref), cell(l.Environment), l.TTLSeconds, exp, cell(l.VersionID), cell(l.Outcome))
	}
	b.WriteString("\n")
	if sess := rec.Session; sess != nil {
		switch {
		case sess.Source == "oidc" && rec.Identity != nil:
			fmt.Fprintf(&b, "Identity `%s` (issuer %s, audience `%s`) assumed `%s` as `%s` until %s.\n\n",
				cell(rec.Identity.Subject), cell(rec.Identity.Issuer), cell(rec.Identity.Audience),
				cell(sess.RoleARN), cell(sess.SessionName), sess.ExpiresAt.UTC().Format(time.RFC3339))
		case sess.Source == "aws-default":
			b.WriteString("Identity: the AWS default credential chain (`--identity aws-default`).\n\n")
		}
	}
	if c := rec.Command; c != nil {
		fmt.Fprintf(&b, "Command exit code **%d**", c.ExitCode)
		if c.LeaseExpired {
			b.WriteString(" (ended by the lease deadline)")
		} else if c.Signal != 0 {
			fmt.Fprintf(&b, " (signal %d)", c.Signal)
		}
		fmt.Fprintf(&b, ", %.1fs.", float64(c.DurationMS)/1000)
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "Masked %d value(s) in %d form(s); %d redaction(s) in the command's output.\n\n",
		rec.Masking.Values, rec.Masking.Forms, rec.Masking.Redactions)
	switch {
	case leakErr != nil:
		b.WriteString("**Run record withheld: its verification found a secret form.** Treat the leased keys as exposed: revoke and rotate them.\n")
	case recordPath != "":
		fmt.Fprintf(&b, "Run record verified (0 findings) and written to `%s`.\n", cell(recordPath))
	}
	return b.String()
}

// cell keeps a table cell in its cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "`", "'").Replace(s)
}
