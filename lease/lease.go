// Package lease runs one lease end to end: resolve the refs, obtain an AWS
// session (OIDC → STS, or the local default chain), read the values,
// register every form with the maskers, run the child with the values in its
// environment only, and write the verified, value-free run record.
//
// Both `keylease exec` and `keylease demo` call Run, so the demo exercises
// the very code a workflow runs.
package lease

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keylease/keylease/child"
	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
)

// Exit codes of the CLI contract that Run's errors map to.
const (
	ExitConfig = 2
	ExitLease  = 3
	ExitLeak   = 4
)

// Identity modes (--identity).
const (
	IdentityAuto       = ""
	IdentityOIDC       = "oidc"
	IdentityAWSDefault = "aws-default"
)

// MaxGrace is the longest grace period after the deadline's SIGTERM: a
// longer one would stretch the lease past its TTL.
const MaxGrace = child.DefaultGrace

// Options are the lease's inputs (flags, KEYLEASE_* and INPUT_* resolved by
// the caller). They carry refs, names and durations, never a value.
type Options struct {
	RegistryPath, PolicyPath string
	Env                      string   // "" : ci under GitHub Actions, else local
	Vendors                  []string // --vendor
	Refs                     []string // --ref [ENVVAR=]REF
	RoleARN, Region          string
	Audience, OIDCIssuer     string
	Identity                 string        // IdentityAuto, IdentityOIDC or IdentityAWSDefault
	TTL                      time.Duration // --ttl; 0 : the registry's
	RecordPath               string        // "" : record.DefaultPath
	Grace                    time.Duration // 0 : child.DefaultGrace
	Drain                    time.Duration // 0 : child.DefaultDrain
	Command                  []string      // argv of the child
	Dir                      string
	Version                  string // keylease's, for the record
}

// IO is the process around the lease. Getenv/Environ are the parent's
// environment; Stdout is where workflow commands go (raw) and, through a
// redactor, the child's stdout.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Environ        func() []string
	Signals        <-chan os.Signal
	// Commands receives the workflow commands (::add-mask::, ::group::);
	// nil means Stdout, as on a runner. The demo points it at a simulated
	// runner so that registrations are not shown on a terminal.
	Commands io.Writer
	// ChildStarted, if set, is called when the child runs (benchmarks).
	ChildStarted func(pid int)
}

// Result is how the lease ended.
type Result struct {
	ExitCode   int       // what keylease exits with
	RecordPath string    // "" when no verified record was written
	ExpiresAt  time.Time // the deadline given to the child
	Record     *record.Record
}

// Error is a failure with its exit code (2 configuration, 3 lease, 4 leak).
// Its message is sanitized and never holds a value.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code int, err error) *Error { return &Error{Code: code, Err: err} }

// lease is one resolved, fetched variable.
type leased struct {
	spec   registry.LeaseSpec
	value  secret.Value
	vid    string
	issued time.Time
}

// Run performs one lease. A non-nil *Result is returned whenever a record
// could be attempted, also together with an error. Under GitHub Actions the
// exit-code output is written whatever happens.
func Run(ctx context.Context, o Options, pio IO) (*Result, error) {
	res, err := run(ctx, o, pio)
	if res == nil && err != nil {
		w := pio.Commands
		if w == nil {
			w = pio.Stdout
		}
		code := 1
		var le *Error
		if errors.As(err, &le) {
			code = le.Code
		}
		outs := [][2]string{{"record-path", ""}, {"exit-code", fmt.Sprint(code)}}
		if oerr := newRunner(pio.Getenv, w, masking.Process().Sanitize).setOutputs(outs); oerr != nil {
			err = errors.Join(err, oerr)
		}
	}
	return res, err
}

func run(ctx context.Context, o Options, pio IO) (*Result, error) {
	switch o.Identity {
	case IdentityAuto, IdentityOIDC, IdentityAWSDefault:
	default:
		return nil, fail(ExitConfig, fmt.Errorf("--identity %q: use oidc or aws-default", o.Identity))
	}
	if len(o.Command) == 0 {
		return nil, fail(ExitConfig, errors.New("no command given after --; usage: keylease exec [flags] -- COMMAND [ARGS...]"))
	}
	if o.Grace < 0 || o.Grace > MaxGrace {
		return nil, fail(ExitConfig, fmt.Errorf("--grace %s is outside 0..%s; a longer grace would outlive the lease", o.Grace, MaxGrace))
	}
	if o.TTL < 0 {
		return nil, fail(ExitConfig, errors.New("--ttl must be a positive number of seconds"))
	}
	getenv := pio.Getenv
	if pio.Commands == nil {
		pio.Commands = pio.Stdout
	}
	onActions := getenv("GITHUB_ACTIONS") == "true"
	if o.Env == "" {
		o.Env = "local"
		if onActions {
			o.Env = "ci"
		}
	}

	set := masking.NewSet(masking.Options{})
	rn := newRunner(getenv, pio.Commands, set.Sanitize)
	rn.group("keylease: lease")
	groupOpen := true
	endGroup := func() {
		if groupOpen {
			rn.endGroup()
			groupOpen = false
		}
	}
	defer endGroup()

	cfg, err := registry.Load(o.RegistryPath, o.PolicyPath)
	if err != nil {
		return nil, fail(ExitConfig, err)
	}
	maskOpts := masking.Options{AllowShort: cfg.Policy.AllowShortValues()}
	set.SetOptions(maskOpts)
	// main's error printer and panic handler sanitize with the process set: it
	// must accept every value this lease's set accepts.
	masking.Process().SetOptions(maskOpts)

	specs, refused, err := resolve(cfg, o)
	if err != nil {
		return nil, err
	}
	rec := newRecord(o, getenv, specs)
	sc := newScanner(set, cfg.Policy.RequiredPrefix)
	res := &Result{Record: rec}
	if len(refused) > 0 {
		// Nothing is fetched when any lease is refused; the record says
		// which were refused and why (the audit trail of SL8).
		errs := make([]error, 0, len(refused))
		for _, re := range refused {
			rec.Leases = append(rec.Leases, refusedLease(re))
			errs = append(errs, re)
		}
		markAll(rec, record.OutcomeRefused, "not fetched: another lease of this run was refused")
		return finish(res, o, pio, set, sc, rn, fail(ExitLease, errors.Join(errs...)))
	}

	// Register a value with both maskers before anything else may print it:
	// the runner's (::add-mask:: on the raw stdout) and ours (redactor,
	// sanitizer, record scanner), and the process set behind main's errors.
	var maskErr error
	register := func(v secret.Value) error {
		if v.IsZero() {
			return nil
		}
		if err := set.Add(v); err != nil {
			return err
		}
		if err := masking.Process().Add(v); err != nil {
			return err
		}
		if onActions {
			n, err := masking.RegisterWithRunner(pio.Commands, v)
			rec.Masking.RunnerRegistrations += n
			if err != nil {
				return fmt.Errorf("register a value with the runner's masker: %w", err)
			}
		}
		return nil
	}

	awsCfg, session, err := obtainSession(ctx, o, pio, cfg, onActions, func(v secret.Value) {
		if err := register(v); err != nil && maskErr == nil {
			maskErr = err
		}
	})
	if err == nil {
		err = maskErr
	}
	if session != nil {
		rec.Session = &record.Session{Source: "oidc", RoleARN: session.RoleARN, SessionName: session.SessionName, ExpiresAt: session.Expires.UTC()}
		if id := session.Identity; id != nil {
			rec.Identity = &record.Identity{Issuer: id.Issuer, Subject: id.Subject, Audience: id.Audience,
				JobWorkflowRef: id.JobWorkflowRef, Environment: id.Environment,
				IssuedAt: id.IssuedAt.UTC(), ExpiresAt: id.Expiry.UTC()}
		}
		for _, v := range session.Secrets() {
			if rerr := register(v); rerr != nil && err == nil {
				err = rerr
			}
		}
	} else if err == nil {
		rec.Session = &record.Session{Source: "aws-default"}
	}
	if err != nil {
		markAll(rec, record.OutcomeFailed, set.Sanitize(err.Error()))
		return finish(res, o, pio, set, sc, rn, fail(ExitLease, set.SanitizeError(err)))
	}
	rn.debugf("aws session ready (%s); fetching %d ref(s)", rec.Session.Source, len(specs))

	leases, err := fetch(ctx, awsCfg, specs, register)
	if err != nil {
		markAll(rec, record.OutcomeFailed, set.Sanitize(err.Error()))
		wipe(leases)
		return finish(res, o, pio, set, sc, rn, fail(ExitLease, set.SanitizeError(err)))
	}
	defer wipe(leases)

	// The deadline: the shortest of every lease's TTL, --ttl and the STS
	// session's expiry, counted from the moment the values arrived.
	now := time.Now()
	deadline := now.Add(minTTL(specs, o.TTL))
	if session != nil && !session.Expires.IsZero() && session.Expires.Before(deadline) {
		deadline = session.Expires
	}
	deadline = deadline.Truncate(time.Second) // what KEYLEASE_EXPIRES_AT can say is what we enforce
	res.ExpiresAt = deadline.UTC()
	vars := map[string]secret.Value{}
	for i, l := range leases {
		vars[l.spec.EnvVar] = l.value
		rec.Leases[i].IssuedAt = l.issued.UTC().Truncate(time.Second)
		rec.Leases[i].ExpiresAt = res.ExpiresAt
		rec.Leases[i].VersionID = l.vid
		rec.Leases[i].Outcome = record.OutcomeLeased
	}
	rec.Masking.Values, rec.Masking.Forms = set.Stats()
	rn.debugf("leased %d variable(s) until %s; %d value(s), %d form(s) masked", len(vars), res.ExpiresAt.Format(time.RFC3339), rec.Masking.Values, rec.Masking.Forms)
	endGroup()

	noPersist := cfg.Policy.NoPersistence()
	var guard *fileGuard
	if noPersist {
		guard = newFileGuard(getenv)
	}
	stdout, stderr := set.NewRedactor(pio.Stdout), set.NewRedactor(pio.Stderr)
	cres, cerr := child.Run(ctx, child.Spec{
		Path: o.Command[0], Args: o.Command[1:], Dir: o.Dir,
		Env:   childEnv(pio.Environ(), vars, deadline, noPersist),
		Stdin: pio.Stdin, Stdout: stdout, Stderr: stderr,
		Deadline: deadline, Grace: o.Grace, Drain: o.Drain,
		Signals: pio.Signals, Started: pio.ChildStarted,
	})
	var pe *child.PanicError
	if errors.As(cerr, &pe) {
		// A redactor panicked (child.Run killed the command): its buffered
		// tail is not flushed through a redactor in an unknown state.
		reportPanic(pio.Stderr, set, pe)
		return finish(res, o, pio, set, sc, rn, fail(1, cerr))
	}
	flushErr := errors.Join(stdout.Close(), stderr.Close())
	rec.Masking.Redactions = stdout.Redactions() + stderr.Redactions()
	if cerr != nil {
		var se *child.StartError
		code := ExitConfig
		if !errors.As(cerr, &se) {
			code = 1
		}
		return finish(res, o, pio, set, sc, rn, fail(code, set.SanitizeError(cerr)))
	}
	res.ExitCode = cres.ExitCode
	rec.Command = &record.Command{ExitCode: cres.ExitCode, Signal: cres.Signal, DurationMS: cres.Duration.Milliseconds(),
		LeaseExpired: cres.Expired, DrainTimedOut: cres.DrainTimedOut}
	if flushErr != nil {
		fmt.Fprintf(pio.Stderr, "keylease: writing the command's output failed: %s\n", masking.OneLine(set.Sanitize(flushErr.Error())))
	}
	var ferr error
	if guard != nil {
		rolled, gerr := guard.check(func(b []byte) int { return len(sc.Scan(b)) })
		if len(rolled) > 0 {
			ferr = fail(ExitLeak, fmt.Errorf("the command wrote a leased value or a vendor key to %s; it was removed (policy no_persistence: true); treat the key as exposed: revoke and rotate it", strings.Join(rolled, ", ")))
		} else if gerr != nil {
			ferr = fail(ExitLeak, set.SanitizeError(gerr))
		}
	}
	return finish(res, o, pio, set, sc, rn, ferr)
}

// finish writes the record, the job summary and the outputs. cause is the
// lease's own error (nil when the child ran and persisted nothing).
func finish(res *Result, o Options, pio IO, set *masking.Set, sc scanner, rn *runner, cause error) (*Result, error) {
	rec := res.Record
	if rec.Masking.Values == 0 {
		rec.Masking.Values, rec.Masking.Forms = set.Stats()
	}
	var cerr *Error
	if errors.As(cause, &cerr) {
		res.ExitCode = cerr.Code
	}
	path := o.RecordPath
	if path == "" {
		path = record.DefaultPath(pio.Getenv)
	}
	werr := record.Write(path, rec, sc.DetectorNames(), sc.Scan, time.Now())
	var leak *record.LeakError
	switch {
	case errors.As(werr, &leak):
		if cause == nil {
			cause = fail(ExitLeak, leak)
		} else {
			cause = fail(ExitLeak, errors.Join(cause, leak))
		}
		res.ExitCode = ExitLeak
	case werr != nil:
		fmt.Fprintf(pio.Stderr, "keylease: %s\n", masking.OneLine(set.Sanitize(werr.Error())))
	default:
		res.RecordPath = path
	}
	var leakErr error
	if leak != nil {
		leakErr = leak
	}
	if err := rn.summary(rec, res.RecordPath, leakErr); err != nil {
		fmt.Fprintf(pio.Stderr, "keylease: %s\n", masking.OneLine(set.Sanitize(err.Error())))
	}
	// record-path is written always, empty when no verified record exists,
	// and only now that the child has ended: the runner keeps the last
	// value of a name, so a record-path the child appended to GITHUB_OUTPUT
	// cannot choose what the action uploads.
	outs := [][2]string{{"record-path", res.RecordPath}}
	if !res.ExpiresAt.IsZero() {
		outs = append(outs, [2]string{"lease-expires-at", res.ExpiresAt.Format(time.RFC3339)})
	}
	outs = append(outs, [2]string{"exit-code", fmt.Sprint(res.ExitCode)})
	if err := rn.setOutputs(outs); err != nil {
		fmt.Fprintf(pio.Stderr, "keylease: %s\n", masking.OneLine(set.Sanitize(err.Error())))
	}
	if res.RecordPath != "" && !rn.on {
		fmt.Fprintf(pio.Stderr, "keylease: run record %s\n", masking.OneLine(res.RecordPath))
	}
	return res, cause
}

// reportPanic prints a panic recovered from the child's output writers the
// way main's panic handler does: value and stack sanitized, one line of value.
func reportPanic(w io.Writer, set *masking.Set, pe *child.PanicError) {
	msg := strings.ReplaceAll(set.Sanitize(fmt.Sprint(pe.Value)), "\n", "; ")
	_, _ = fmt.Fprintf(w, "keylease: internal error (panic) while redacting the command's output: %s; the command was killed\n%s\n",
		msg, set.Sanitize(string(pe.Stack)))
}

// resolve turns --vendor and --ref into lease specs, checks variable names
// are unique and --ttl fits every lease.
// A policy or registry refusal does not stop resolution: every refusal is
// returned so the record can list them; any other problem is a config error.
func resolve(cfg *registry.Config, o Options) ([]registry.LeaseSpec, []*registry.RefusedError, error) {
	if len(o.Vendors) == 0 && len(o.Refs) == 0 {
		return nil, nil, fail(ExitConfig, errors.New("nothing to lease: give --vendor NAME or --ref [ENVVAR=]REF (KEYLEASE_VENDOR / action input vendors)"))
	}
	var specs []registry.LeaseSpec
	var refused []*registry.RefusedError
	add := func(s registry.LeaseSpec, err error) error {
		var re *registry.RefusedError
		switch {
		case errors.As(err, &re):
			refused = append(refused, re)
		case err != nil:
			return fail(ExitConfig, err)
		default:
			specs = append(specs, s)
		}
		return nil
	}
	for _, v := range o.Vendors {
		if err := add(cfg.Resolve(v, o.Env)); err != nil {
			return nil, nil, err
		}
	}
	for _, r := range o.Refs {
		name, ref, ok := strings.Cut(r, "=")
		if !ok || strings.Contains(name, "://") {
			// No ENVVAR=: a registered ref names its vendor's variable.
			ref, name = r, ""
		}
		if name == "" {
			s, err := refVendorVar(cfg, ref, o.Env)
			if err != nil {
				return nil, nil, err
			}
			name = s
		}
		if err := add(cfg.ResolveRef(name, ref, o.Env)); err != nil {
			return nil, nil, err
		}
	}
	seen := map[string]bool{}
	for _, s := range specs {
		k := envKey(s.EnvVar)
		if reserved(s.EnvVar) {
			return nil, nil, fail(ExitConfig, fmt.Errorf("%s is reserved (keylease's deadline, a credential the child must not get, or a runner file command); lease into another variable with --ref NAME=REF", s.EnvVar))
		}
		if seen[k] {
			return nil, nil, fail(ExitConfig, fmt.Errorf("two leases into %s; give each --vendor/--ref its own variable (--ref NAME=REF)", s.EnvVar))
		}
		seen[k] = true
		if o.TTL > s.TTL {
			return nil, nil, fail(ExitConfig, fmt.Errorf("--ttl %ds exceeds the %ds allowed for %s in %s (registry max_ttl_seconds / policy ttl_caps_seconds); shorten --ttl",
				int64(o.TTL/time.Second), int64(s.TTL/time.Second), s.Ref.Raw, s.Env))
		}
	}
	return specs, refused, nil
}

func refusedLease(re *registry.RefusedError) record.Lease {
	l := record.Lease{Ref: re.Ref, Vendor: re.Vendor, Environment: re.Env, Outcome: record.OutcomeRefused, Error: re.Reason}
	if re.Vendor != "" {
		l.EnvVar = registry.EnvVarFor(re.Vendor)
	}
	return l
}

// refVendorVar finds the variable of a bare --ref: the vendor convention of
// the registry entry that holds it.
func refVendorVar(cfg *registry.Config, raw, env string) (string, error) {
	ref, err := registry.ParseRef(raw, cfg.Policy)
	if err != nil {
		return "", fail(ExitConfig, err)
	}
	for _, e := range cfg.Registry.Entries() {
		if e.Env == env && e.Ref.SecretID == ref.SecretID && e.Ref.JSONKey == ref.JSONKey {
			return registry.EnvVarFor(e.Vendor), nil
		}
	}
	return "", fail(ExitConfig, fmt.Errorf("--ref %s has no ENVVAR= and no registry entry in %s names its variable; write --ref NAME=%s", ref.Raw, env, ref.Raw))
}

func minTTL(specs []registry.LeaseSpec, ttl time.Duration) time.Duration {
	m := ttl
	for _, s := range specs {
		if m == 0 || s.TTL < m {
			m = s.TTL
		}
	}
	return m
}

// obtainSession applies the identity rules of design.md.
func obtainSession(ctx context.Context, o Options, pio IO, cfg *registry.Config, onActions bool, onToken func(secret.Value)) (aws.Config, *exchange.Session, error) {
	_ = cfg
	hasOIDC := exchange.HasOIDCEnv(pio.Getenv)
	mode := o.Identity
	switch mode {
	case IdentityAuto:
		switch {
		case hasOIDC:
			mode = IdentityOIDC
		case onActions:
			_, err := exchange.OIDCConfigFromEnv(pio.Getenv) // the error that names `permissions: id-token: write`
			if err == nil {
				err = errors.New("no OIDC token endpoint")
			}
			return aws.Config{}, nil, fmt.Errorf("%w (or pass --identity aws-default to use the job's existing AWS credentials, e.g. a self-hosted runner's instance role)", err)
		default:
			mode = IdentityAWSDefault
		}
	}
	region := o.Region
	if mode == IdentityAWSDefault {
		c, err := exchange.LocalConfig(ctx, region)
		return c, nil, err
	}
	oc, err := exchange.OIDCConfigFromEnv(pio.Getenv)
	if err != nil {
		return aws.Config{}, nil, err
	}
	if o.Audience != "" {
		oc.Audience = o.Audience
	}
	if o.OIDCIssuer != "" {
		oc.Issuer = o.OIDCIssuer
	}
	oc.OnToken = onToken
	onToken(oc.RequestToken)
	base, err := exchange.BaseConfig(ctx, region)
	if err != nil {
		return aws.Config{}, nil, err
	}
	sess, err := exchange.AssumeRole(ctx, base, exchange.NewOIDC(oc), o.RoleARN,
		exchange.SessionName(pio.Getenv("GITHUB_RUN_ID"), pio.Getenv("GITHUB_RUN_ATTEMPT")))
	if err != nil {
		return aws.Config{}, nil, err
	}
	return sess.Config(base), sess, nil
}

// fetch reads every spec's value and registers it before returning it.
func fetch(ctx context.Context, awsCfg aws.Config, specs []registry.LeaseSpec, register func(secret.Value) error) ([]leased, error) {
	reqs := make([]exchange.Request, len(specs))
	for i, s := range specs {
		reqs[i] = exchange.Request{Label: s.Ref.Raw, SecretID: s.Ref.SecretID, Region: s.Ref.Region,
			JSONKey: s.Ref.JSONKey, RequiredPrefix: s.RequiredPrefix, Vendor: s.Vendor}
	}
	got, ferr := exchange.NewFetcher(awsCfg).Fetch(ctx, reqs)
	now := time.Now()
	out := make([]leased, 0, len(got))
	var errs []error
	for i, g := range got {
		if g.Value.IsZero() {
			continue
		}
		// Register even when another ref failed: the value is in memory and
		// an error path may yet print something.
		if err := register(g.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", specs[i].Ref.Raw, err))
		}
		out = append(out, leased{spec: specs[i], value: g.Value, vid: g.VersionID, issued: now})
	}
	if ferr != nil {
		errs = append([]error{ferr}, errs...)
	}
	if len(errs) == 0 && len(out) != len(specs) {
		errs = append(errs, errors.New("the secret store returned fewer values than refs"))
	}
	return out, errors.Join(errs...)
}

func wipe(ls []leased) {
	for _, l := range ls {
		l.value.Wipe()
	}
}

// markAll sets the outcome of every lease; msg replaces an empty reason.
func markAll(rec *record.Record, outcome, msg string) {
	for i := range rec.Leases {
		rec.Leases[i].Outcome = outcome
		if rec.Leases[i].Error == "" {
			rec.Leases[i].Error = msg
		}
	}
}

func newRecord(o Options, getenv func(string) string, specs []registry.LeaseSpec) *record.Record {
	rec := &record.Record{KeyleaseVersion: o.Version, Run: record.Run{Mode: "local"}}
	if getenv("GITHUB_ACTIONS") == "true" {
		rec.Run = record.Run{Mode: "github-actions",
			Repository: getenv("GITHUB_REPOSITORY"), Workflow: getenv("GITHUB_WORKFLOW"), Job: getenv("GITHUB_JOB"),
			RunID: getenv("GITHUB_RUN_ID"), RunAttempt: getenv("GITHUB_RUN_ATTEMPT"), Ref: getenv("GITHUB_REF"),
			SHA: getenv("GITHUB_SHA"), Actor: getenv("GITHUB_ACTOR"), Event: getenv("GITHUB_EVENT_NAME"),
			RunnerEnvironment: getenv("RUNNER_ENVIRONMENT"), RunnerOS: getenv("RUNNER_OS")}
	}
	for _, s := range specs {
		rec.Leases = append(rec.Leases, record.Lease{Ref: s.Ref.Raw, Vendor: s.Vendor, Environment: s.Env,
			Scope: s.Scope, EnvVar: s.EnvVar, TTLSeconds: int64(s.TTL / time.Second), Outcome: record.OutcomeFailed})
	}
	return rec
}

// scanner is masking.Scanner plus the names of the detectors it ran.
type scanner struct {
	*masking.Scanner
	names []string
}

func (s scanner) DetectorNames() []string { return s.names }

// newScanner scans for every registered form and the vendor detectors, fed
// also by the policy's required prefixes.
func newScanner(set *masking.Set, prefixes map[string]string) scanner {
	seen := map[string]bool{}
	var names []string
	for _, d := range masking.Detectors(prefixes) {
		if !seen[d.Name] {
			seen[d.Name] = true
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	return scanner{Scanner: masking.NewScanner(masking.ScanOptions{Set: set, Detectors: true, Prefixes: prefixes}), names: names}
}
