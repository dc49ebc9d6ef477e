package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
)

func init() {
	register(&command{name: "exec", summary: "lease keys to one command: keylease exec [flags] -- COMMAND [ARGS...]", run: runExec})
	// First: a *lease.Error carries the code lease.Run also wrote to the
	// exit-code output; a registry error it wraps must not override it.
	exitClassifiers = append([]func(error) (int, bool){classifyLeaseError}, exitClassifiers...)
}

func classifyLeaseError(err error) (int, bool) {
	var le *lease.Error
	if errors.As(err, &le) {
		return le.Code, true
	}
	return 0, false
}

// listFlag is a repeatable flag; each use may also hold a comma- or
// newline-separated list (how the action's inputs arrive).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = append(*l, splitList(s)...)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// execFlag names a flag and, where the action has one, the input that
// action.yml passes to it as KEYLEASE_<FLAG> (for messages only: a composite
// action's steps get no INPUT_* variables, so none is read).
type execFlag struct {
	name, input string
}

var execFlags = []execFlag{
	{"registry", "registry"}, {"policy", "policy"}, {"env", "environment"},
	{"vendor", "vendors"}, {"ref", "refs"}, {"role-arn", "role-to-assume"},
	{"region", "aws-region"}, {"audience", "audience"}, {"oidc-issuer", ""},
	{"identity", ""}, {"record", ""}, {"ttl", ""}, {"grace", ""}, {"setup-timeout", ""},
	{"dir", "working-directory"},
}

// execSettings are the flags of execFlags that checkSettings checks.
var execSettings = []string{"registry", "policy", "record", "dir", "role-arn", "region", "audience", "oidc-issuer", "identity", "ttl", "grace", "setup-timeout", "env"}

// envName is KEYLEASE_<FLAG>: upper case, '-' as '_'.
func envName(flagName string) string {
	return "KEYLEASE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseExec reads the flags, then fills every flag not given on the command
// line from KEYLEASE_<FLAG> (how action.yml passes its inputs).
func parseExec(args []string, e *env) (lease.Options, error) {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	var o lease.Options
	var vendors, refs listFlag
	var ttl, grace, setup string
	sessionFlags(fs, &o, &setup)
	fs.StringVar(&o.Env, "env", "", "registry environment: dev, ci, prod, local (default ci under GitHub Actions, else local)")
	fs.Var(&vendors, "vendor", "lease the registry entry `NAME`.<env> into its vendor's variable (repeatable)")
	fs.Var(&refs, "ref", "lease `[ENVVAR=]REF` (repeatable)")
	fs.StringVar(&o.RecordPath, "record", "", "run record `path` (default $RUNNER_TEMP/keylease/keylease-record-*.json)")
	fs.StringVar(&ttl, "ttl", "", "shorten the lease to `SECONDS` (never above the registry's or the policy's cap)")
	fs.StringVar(&o.Dir, "dir", "", "`directory` the command runs in (default the current one)")
	fs.StringVar(&grace, "grace", "", "time between the deadline's SIGTERM and SIGKILL, at most 10s (default 10s)")
	if err := parseFlags(fs, args, e, "Usage: keylease exec [flags] -- COMMAND [ARGS...]",
		"Every flag also reads KEYLEASE_<FLAG> (e.g. KEYLEASE_ROLE_ARN); the action passes its inputs that way."); err != nil {
		return o, err
	}
	o.Command = fs.Args()

	// source names where each flag's value came from, for messages.
	names := make([]string, len(execFlags))
	inputs := map[string]string{}
	for i, ef := range execFlags {
		names[i], inputs[ef.name] = ef.name, ef.input
	}
	source, err := fillFromEnv(fs, names, inputs, e)
	if err != nil {
		return o, err
	}
	// The environment is echoed by lease and registry messages and written to
	// the record: check it against the registry's charset before it is used,
	// and never repeat a bad one (it may hold a line break and a workflow
	// command, or be a key pasted into the wrong input).
	// lease prints the paths on stderr and in the job summary (a control
	// character would end the line and could start a workflow command);
	// settings that name things or places never hold a key, and lease may
	// echo them (a record named after one would carry it into the
	// artifact): a key pasted into one is refused here, unrepeated.
	// --vendor and --ref are checked against the registry instead.
	if err := checkSettings(fs, execSettings, source, ""); err != nil {
		return o, err
	}
	// The command's directory is checked before anything is leased: a
	// missing one would otherwise fail the command only after the fetch.
	if o.Dir != "" {
		if fi, err := os.Stat(o.Dir); err != nil || !fi.IsDir() {
			return o, usageError("%s %s is not a directory; give the directory the command runs in", source["dir"], shownPath(o.Dir))
		}
	}
	if o.Env != "" && !registry.ValidEnvName(o.Env) {
		return o, usageError("%s is not a registry environment name; use a lowercase letter, then up to 31 of a-z, 0-9, '_' and '-' (e.g. ci)", source["env"])
	}
	o.Vendors, o.Refs = vendors, refs
	if o.TTL, err = parseSeconds("--ttl", ttl); err != nil {
		return o, err
	}
	if o.Grace, err = parseSeconds("--grace", grace); err != nil {
		return o, err
	}
	if o.SetupTimeout, err = parseSeconds("--setup-timeout", setup); err != nil {
		return o, err
	}
	if setup != "" && o.SetupTimeout <= 0 {
		return o, usageError("--setup-timeout must be at least 1 second")
	}
	if ttl != "" && o.TTL <= 0 {
		return o, usageError("--ttl must be at least 1 second")
	}
	o.Version = version
	return o, nil
}

// parseSeconds accepts whole seconds ("900") or a Go duration ("1m30s").
func parseSeconds(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 7*24*3600 {
			return 0, usageError("%s %d is out of range; give seconds between 0 and 604800", name, n)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, usageError("%s is not a number of seconds; write e.g. %s 300", name, name)
	}
	return d, nil
}

func runExec(ctx context.Context, args []string, e *env) error {
	o, err := parseExec(args, e)
	if err != nil {
		return err
	}
	if len(o.Command) == 0 {
		return usageError("exec needs a command after --: keylease exec [flags] -- COMMAND [ARGS...]")
	}
	// Forwarded to the child's process group for as long as it runs.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	res, err := lease.Run(ctx, o, lease.IO{
		Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
		Getenv: e.getenv, Environ: e.environ, Signals: sigs,
	})
	code := 0
	if res != nil {
		code = res.ExitCode
	}
	// A lease error exits with the code lease.Run wrote to the exit-code output.
	return leaseExit(code, err)
}

// isControl reports C0/C1 control characters and Unicode line separators.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == '\u2028' || r == '\u2029'
}
