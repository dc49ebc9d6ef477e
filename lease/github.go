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
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/safetext"
)

// runner is what keylease does when GITHUB_ACTIONS=true: workflow commands
// on the raw stdout (never through the redactor, which would mask them),
// outputs and the job summary in the runner's files. Every text it writes
// passes guard first.
type runner struct {
	on     bool
	debug  bool
	getenv func(string) string
	gha    *githubactions.Action
	guard  *safetext.Guard
}

func newRunner(getenv func(string) string, stdout io.Writer, guard *safetext.Guard) *runner {
	return &runner{
		on:     getenv("GITHUB_ACTIONS") == "true",
		debug:  getenv("RUNNER_DEBUG") == "1",
		getenv: getenv,
		gha:    githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(&dropOnError{w: stdout})),
		guard:  guard,
	}
}

// dropOnError stops writing after the first failed write and reports
// success: go-githubactions panics when a workflow command cannot be
// written, and a closed stdout (`keylease exec … | head`) must not stop
// keylease before it has checked the runner's files and written the record.
// Nothing that must reach the runner goes this way: ::add-mask:: is written
// (and its errors handled) by the masking package.
type dropOnError struct {
	w      io.Writer
	failed bool
}

func (d *dropOnError) Write(p []byte) (int, error) {
	if !d.failed {
		if _, err := d.w.Write(p); err != nil {
			d.failed = true
		}
	}
	return len(p), nil
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

// debugf prints a ::debug:: line only with RUNNER_DEBUG=1, guarded.
// go-githubactions escapes the command data (%, CR, LF) itself.
func (r *runner) debugf(format string, args ...any) {
	if r.on && r.debug {
		r.gha.Debugf("%s", r.guard.Text(fmt.Sprintf(format, args...)))
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
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", p[0], delim, r.guard.Line(p[1]), delim)
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
	return appendFile(path, "GITHUB_STEP_SUMMARY", Summary(*r.guard, rec, recordPath, leakErr))
}

// Summary renders the job summary: one row per lease and the result. It
// holds refs, names, times and counts only, and every text in it (from the
// user, the runner or a server) passes g and is shown as a code span, so
// neither a value nor markdown or HTML gets through.
func Summary(g safetext.Guard, rec *record.Record, recordPath string, leakErr error) string {
	code := func(s string) string { return codeSpan(g.Line(s)) }
	cell := func(s string) string { return plainCell(g.Line(s)) }
	var b strings.Builder
	b.WriteString("### keylease\n\n")
	b.WriteString("| variable | vendor | ref | environment | ttl | expires (UTC) | version | outcome |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, l := range rec.Leases {
		exp := ""
		if !l.ExpiresAt.IsZero() {
			exp = l.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %ds | %s | %s | %s |\n",
			code(l.EnvVar), cell(l.Vendor), code(l.Ref), cell(l.Environment), l.TTLSeconds, exp, cell(l.VersionID), cell(l.Outcome))
	}
	b.WriteString("\n")
	modeLines(&b, rec, code)
	if sess := rec.Session; sess != nil {
		switch {
		case sess.Source == "oidc" && rec.Identity != nil:
			fmt.Fprintf(&b, "Identity %s (issuer %s, audience %s) assumed %s as %s until %s.\n\n",
				code(rec.Identity.Subject), code(rec.Identity.Issuer), code(rec.Identity.Audience),
				code(sess.RoleARN), code(sess.SessionName), sess.ExpiresAt.UTC().Format(time.RFC3339))
		case sess.Source == "aws-default":
			b.WriteString("Identity: the AWS default credential chain (`--identity aws-default`).\n\n")
		case sess.Source == SessionNone:
			b.WriteString("No AWS call: no lease reads Secrets Manager (federated tokens and other stores only).\n\n")
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
		fmt.Fprintf(&b, "Run record verified (0 findings) and written to %s.\n", code(recordPath))
	}
	return b.String()
}

// codeSpan shows s as inline code in a table cell: markdown and HTML inside
// a code span are not rendered, a backtick cannot end it early (it becomes
// '), and '|' is escaped, which GitHub's tables honour inside code spans.
// An empty s is an empty cell.
func codeSpan(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "`", "'").Replace(s) + "`"
}

// plainEscaper makes text inert in a markdown table cell: HTML's
// metacharacters as entities, markdown's as backslash escapes.
var plainEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;",
	"\\", "\\\\", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]",
	"(", "\\(", ")", "\\)", "!", "\\!", "#", "\\#", "~", "\\~", "|", "\\|", ":", "&#58;",
	"\n", " ", "\r", " ")

// plainCell shows s as text in a table cell, rendering none of its markdown
// or HTML (':' too, so no URL in it becomes a link).
func plainCell(s string) string { return plainEscaper.Replace(s) }

// modeLines adds one line per minted or federated lease: what the vendor
// issued (ids, names, times) and, for a minted key, that it was deleted.
func modeLines(b *strings.Builder, rec *record.Record, code func(string) string) {
	n := 0
	for _, l := range rec.Leases {
		switch l.Mode {
		case registry.ModeMinted:
			fmt.Fprintf(b, "- %s: minted %s (key %s, named %s)", code(l.EnvVar), code(l.VendorID), code(l.KeyID), code(l.MintedName))
			switch {
			case !l.DeletedAt.IsZero():
				fmt.Fprintf(b, ", deleted %s.\n", l.DeletedAt.UTC().Format(time.RFC3339))
			case l.DeleteError != "":
				b.WriteString(", **not deleted**: delete it at the vendor now.\n")
			case l.VendorID == "":
				b.WriteString(", no key id known: if the vendor created it, delete the key of that name at the vendor.\n")
			default:
				b.WriteString(".\n")
			}
		case registry.ModeFederated:
			fmt.Fprintf(b, "- %s: federated token for %s (audience %s)", code(l.EnvVar), code(l.OIDCSubject), code(l.OIDCAudience))
			if !l.TokenExpiresAt.IsZero() {
				fmt.Fprintf(b, ", vendor expiry %s", l.TokenExpiresAt.UTC().Format(time.RFC3339))
			}
			b.WriteString("; nothing stored or minted.\n")
		default:
			continue
		}
		n++
	}
	if n > 0 {
		b.WriteString("\n")
	}
}
