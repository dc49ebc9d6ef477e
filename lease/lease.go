// Package lease runs one lease end to end: resolve the refs, obtain an AWS
// session (OIDC → STS, or the local default chain), read the values,
// register every form with the maskers, run the child with the values in its
// environment only, and write the verified, value-free run record.
//
// Both `keylease exec` and `keylease demo` call Run, so the demo exercises
// the very code a workflow runs. Run is a sequence of the steps of a Lease
// (Load, Resolve, Session, Fetch, Run, Finish); a command that runs no
// child calls the same steps and uses Values instead of Run.
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
	"github.com/keylease/keylease/safetext"
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

// DefaultSetupTimeout bounds obtaining a lease (token, discovery, JWKS, STS,
// Secrets Manager) as a whole: per-attempt timeouts alone would add up
// across stages and retries.
const DefaultSetupTimeout = 60 * time.Second

// MaxGrace is the longest grace period after the deadline's SIGTERM: a
// longer one would stretch the lease past its TTL.
const MaxGrace = child.DefaultGrace

// Options are the lease's inputs (flags and KEYLEASE_* resolved by the
// caller). They carry refs, names and durations, never a value.
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
	SetupTimeout             time.Duration // 0 : DefaultSetupTimeout
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

// leased is one resolved, fetched variable.
type leased struct {
	spec   registry.LeaseSpec
	value  secret.Value
	vid    string
	keyID  string // vendor key id of a JSON-form secret
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
		g := safetext.Process()
		if oerr := newRunner(pio.Getenv, w, &g).setOutputs(outs); oerr != nil {
			err = errors.Join(err, oerr)
		}
	}
	return res, err
}

// run is exec's sequence of the steps. A step that fails after Resolve
// (once a record exists) ends in Finish, which writes what it can.
func run(ctx context.Context, o Options, pio IO) (*Result, error) {
	if err := validate(o, true); err != nil {
		return nil, err
	}
	l := New(o, pio)
	defer l.Close()
	if err := l.Load(); err != nil {
		return nil, err
	}
	if err := l.Resolve(); err != nil {
		if l.rec == nil {
			return nil, err
		}
		return l.Finish(err)
	}
	setupCtx, endSetup := l.SetupContext(ctx)
	err := l.Session(setupCtx)
	if err == nil {
		err = l.Fetch(setupCtx)
	}
	endSetup() // the child's lifetime is the lease's deadline, not the setup's
	if err != nil {
		return l.Finish(err)
	}
	return l.Finish(l.Run(ctx))
}

// validate checks the options that need no file; child says a command must
// be given (exec; not the lifecycle commands, which run none).
func validate(o Options, child bool) error {
	switch o.Identity {
	case IdentityAuto, IdentityOIDC, IdentityAWSDefault:
	default:
		return fail(ExitConfig, fmt.Errorf("--identity %q: use oidc or aws-default", o.Identity))
	}
	if child && len(o.Command) == 0 {
		return fail(ExitConfig, errors.New("no command given after --; usage: keylease exec [flags] -- COMMAND [ARGS...]"))
	}
	if o.Grace < 0 || o.Grace > MaxGrace {
		return fail(ExitConfig, fmt.Errorf("--grace %s is outside 0..%s; a longer grace would outlive the lease", o.Grace, MaxGrace))
	}
	if o.TTL < 0 {
		return fail(ExitConfig, errors.New("--ttl must be a positive number of seconds"))
	}
	if o.SetupTimeout < 0 {
		return fail(ExitConfig, errors.New("--setup-timeout must be a positive duration"))
	}
	return nil
}

// Lease is one lease, step by step: Load, Resolve, Session, Fetch, then Run
// (exec) or the caller's own use of Values (a lifecycle command), then
// Finish, which writes the record, the summary and the outputs. Each step
// returns an *Error; after a failed step only Finish (and Close) may follow.
// Close wipes the values whatever happened.
type Lease struct {
	o         Options
	io        IO
	onActions bool
	set       *masking.Set   // this lease's values: redactors, sanitizer, record scan
	guard     safetext.Guard // what every text this lease writes passes
	rn        *runner
	groupOpen bool

	cfg     *registry.Config
	specs   []registry.LeaseSpec
	rec     *record.Record
	sc      scanner
	res     *Result
	awsCfg  aws.Config
	session *exchange.Session
	leases  []leased
	maskErr error
	st      storeState // the stores besides Secrets Manager (stores.go)
	modes   modeState  // minted and federated leases (modes.go)
}

// New starts a lease: it fills in the defaults (the environment, the
// command writer) and opens the log group. It checks nothing: Run does, and
// a caller that runs no child calls Check first.
func New(o Options, pio IO) *Lease {
	if pio.Commands == nil {
		pio.Commands = pio.Stdout
	}
	onActions := pio.Getenv("GITHUB_ACTIONS") == "true"
	if o.Env == "" {
		o.Env = "local"
		if onActions {
			o.Env = "ci"
		}
	}
	set := masking.NewSet(masking.Options{})
	l := &Lease{o: o, io: pio, onActions: onActions, set: set, guard: safetext.Guard{Sanitize: set.Sanitize}}
	l.rn = newRunner(pio.Getenv, pio.Commands, &l.guard)
	l.rn.group("keylease: lease")
	l.groupOpen = true
	return l
}

// Check validates the options of a lease that runs no child (a lifecycle
// command): identity, grace and TTL.
func Check(o Options) error { return validate(o, false) }

func (l *Lease) endGroup() {
	if l.groupOpen {
		l.rn.endGroup()
		l.groupOpen = false
	}
}

// Close ends the log group, deletes any key this lease minted that Finish
// did not, and wipes every fetched value.
func (l *Lease) Close() {
	l.endGroup()
	if err := l.release(); err != nil {
		fmt.Fprintf(l.io.Stderr, "keylease: %s\n", l.guard.Line(err.Error()))
	}
	l.releaseStores()
	wipe(l.leases)
	l.leases = nil
}

// Load reads the registry and the policy and applies the policy's masking
// options to this lease and to the process sanitizer.
func (l *Lease) Load() error {
	cfg, err := registry.Load(l.o.RegistryPath, l.o.PolicyPath)
	if err != nil {
		return fail(ExitConfig, err)
	}
	l.cfg = cfg
	maskOpts := masking.Options{AllowShort: cfg.Policy.AllowShortValues()}
	l.set.SetOptions(maskOpts)
	// main's error printer and panic handler sanitize with the process set: it
	// must accept every value this lease's set accepts.
	masking.Process().SetOptions(maskOpts)
	return nil
}

// Resolve turns --vendor and --ref into lease specs and starts the record.
// A refusal still leaves a record (every refused lease listed, nothing
// fetched): Finish it. A configuration error leaves none.
func (l *Lease) Resolve() error {
	specs, refused, err := resolve(l.cfg, l.o)
	if err != nil {
		return err
	}
	l.specs = specs
	l.rec = record.New(l.o.Version, l.io.Getenv, specs)
	l.sc = newScanner(l.set, l.cfg.Policy.RequiredPrefix)
	l.guard.Scan = l.sc.Scan
	l.res = &Result{Record: l.rec}
	if len(refused) == 0 {
		return nil
	}
	// Nothing is fetched when any lease is refused; the record says which
	// were refused and why (the audit trail of SL8).
	errs := make([]error, 0, len(refused))
	for _, re := range refused {
		l.rec.Leases = append(l.rec.Leases, record.Refused(re))
		errs = append(errs, re)
	}
	l.rec.MarkAll(record.OutcomeRefused, "not fetched: another lease of this run was refused")
	return fail(ExitLease, errors.Join(errs...))
}

// register adds a leased value to both maskers before anything else may
// print it: the runner's (::add-mask:: of every form, on the raw stdout) and
// ours (redactor, sanitizer, record scanner), and the process set behind
// main's errors.
func (l *Lease) register(v secret.Value) error { return l.add(v, masking.RegisterWithRunner) }

// registerOwn adds one of keylease's own credentials (OIDC tokens, the STS
// session), which no child receives: every form to our maskers, the raw
// value only to the runner's, which derives its encodings itself.
func (l *Lease) registerOwn(v secret.Value) error { return l.add(v, masking.RegisterRawWithRunner) }

func (l *Lease) add(v secret.Value, withRunner func(io.Writer, secret.Value) (int, error)) error {
	if v.IsZero() {
		return nil
	}
	if err := l.set.Add(v); err != nil {
		return err
	}
	if err := masking.Process().Add(v); err != nil {
		return err
	}
	if l.onActions {
		n, err := withRunner(l.io.Commands, v)
		l.rec.Masking.RunnerRegistrations += n
		if err != nil {
			return fmt.Errorf("register a value with the runner's masker: %w", err)
		}
	}
	return nil
}

// failed marks every lease failed with err's sanitized text and returns
// err as a lease error (exit 3).
func (l *Lease) failed(err error) error {
	l.rec.MarkAll(record.OutcomeFailed, l.set.Sanitize(err.Error()))
	return fail(ExitLease, l.set.SanitizeError(err))
}

// Session obtains the AWS session (OIDC → STS, or the default chain) and
// registers every credential of keylease's own with the maskers.
func (l *Lease) Session(ctx context.Context) error {
	if !l.needsAWS() {
		return l.skipSession() // no Secrets Manager read: modes.go, stores.go
	}
	awsCfg, session, err := obtainSession(ctx, l.o, l.io, l.onActions, func(v secret.Value) {
		if err := l.registerOwn(v); err != nil && l.maskErr == nil {
			l.maskErr = err
		}
	})
	if err == nil {
		err = l.maskErr
	}
	rec := l.rec
	if session != nil {
		rec.Session = &record.Session{Source: "oidc", RoleARN: session.RoleARN, SessionName: session.SessionName, ExpiresAt: session.Expires.UTC()}
		if id := session.Identity; id != nil {
			rec.Identity = &record.Identity{Issuer: id.Issuer, Subject: id.Subject, Audience: id.Audience,
				JobWorkflowRef: id.JobWorkflowRef, Environment: id.Environment,
				IssuedAt: id.IssuedAt.UTC(), ExpiresAt: id.Expiry.UTC()}
		}
		for _, v := range session.Secrets() {
			if rerr := l.registerOwn(v); rerr != nil && err == nil {
				err = rerr
			}
		}
	} else if err == nil {
		rec.Session = &record.Session{Source: "aws-default"}
	}
	if err != nil {
		return l.failed(err)
	}
	l.awsCfg, l.session = awsCfg, session
	l.rn.debugf("aws session ready (%s); fetching %d ref(s)", rec.Session.Source, len(l.specs))
	return nil
}

// SetupContext bounds Session and Fetch by one deadline (--setup-timeout);
// when it runs out, their error names the stage that was running.
func (l *Lease) SetupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := l.o.SetupTimeout
	if d <= 0 {
		d = DefaultSetupTimeout
	}
	return context.WithTimeout(ctx, d)
}

// AWSConfig is the configuration of the session Session obtained.
func (l *Lease) AWSConfig() aws.Config { return l.awsCfg }

// Fetch reads every value, registers it, and sets the deadline: the
// shortest of every lease's TTL, --ttl and the STS session's expiry, counted
// from the moment the values arrived.
func (l *Lease) Fetch(ctx context.Context) error {
	err := l.refuseUnderCI()
	var leases []leased
	if err == nil {
		leases, err = l.acquire(ctx) // stored (any store: stores.go), minted and federated: modes.go
	}
	if err != nil {
		wipe(leases)
		return l.failed(err)
	}
	l.leases = leases
	now := time.Now()
	deadline := now.Add(minTTL(l.specs, l.o.TTL))
	if s := l.session; s != nil && !s.Expires.IsZero() && s.Expires.Before(deadline) {
		deadline = s.Expires
	}
	deadline = l.modes.bound(deadline)        // a federated token's expiry, a minted key's name
	deadline = deadline.Truncate(time.Second) // what KEYLEASE_EXPIRES_AT can say is what we enforce
	l.res.ExpiresAt = deadline.UTC()
	for i, ls := range leases {
		l.rec.MarkLeased(i, ls.issued, l.res.ExpiresAt, ls.vid)
		l.rec.Leases[i].KeyID = ls.keyID
	}
	l.markModes()
	l.rec.Masking.Values, l.rec.Masking.Forms = l.set.Stats()
	l.rn.debugf("leased %d variable(s) until %s; %d value(s), %d form(s) masked", len(leases), l.res.ExpiresAt.Format(time.RFC3339), l.rec.Masking.Values, l.rec.Masking.Forms)
	l.endGroup()
	return nil
}

// Values are the fetched values by variable name; Close wipes them.
func (l *Lease) Values() map[string]secret.Value {
	vars := make(map[string]secret.Value, len(l.leases))
	for _, ls := range l.leases {
		vars[ls.spec.EnvVar] = ls.value
	}
	return vars
}

// Record is the run record Finish will write; nil before Resolve.
func (l *Lease) Record() *record.Record { return l.rec }

// Run runs the command with the values in its environment, its output
// through the redactors, until it ends or the deadline. A nil error means
// the child ran (whatever its exit code) and, under no_persistence, wrote
// no value to the runner's files.
func (l *Lease) Run(ctx context.Context) error {
	o, pio, set, rec := l.o, l.io, l.set, l.rec
	deadline := l.res.ExpiresAt
	noPersist := l.cfg.Policy.NoPersistence()
	var guard *fileGuard
	if noPersist {
		guard = newFileGuard(pio.Getenv)
	}
	stdout, stderr := set.NewRedactor(pio.Stdout), set.NewRedactor(pio.Stderr)
	// Under no_persistence a persisting workflow command (::set-output and
	// kin) is checked before the redactor masks it: the runner would store
	// the unescaped value whatever the log shows.
	var outW, errW io.Writer = stdout, stderr
	var cmdOut, cmdErr *commandGuard // nil guards are no-ops
	if noPersist {
		scan := func(b []byte) int { return len(l.sc.Scan(b)) }
		cmdOut, cmdErr = newCommandGuard(stdout, scan), newCommandGuard(stderr, scan)
		outW, errW = cmdOut, cmdErr
	}
	cres, cerr := child.Run(ctx, child.Spec{
		Path: o.Command[0], Args: o.Command[1:], Dir: o.Dir,
		Env:   childEnv(l.withoutSources(pio.Environ()), l.Values(), deadline, noPersist),
		Stdin: pio.Stdin, Stdout: outW, Stderr: errW,
		Deadline: deadline, Grace: o.Grace, Drain: o.Drain,
		Signals: pio.Signals, Started: pio.ChildStarted,
	})
	// The runner's files are checked on every path once the child has run,
	// also when it could not be waited for or a redactor panicked: what it
	// wrote there persists whatever happened to keylease's own output.
	persistErr := checkPersistence(guard, l.sc, set)
	var pe *child.PanicError
	if errors.As(cerr, &pe) {
		// A redactor panicked (child.Run killed the command): its buffered
		// tail is not flushed through a redactor in an unknown state.
		reportPanic(pio.Stderr, l.guard, pe)
		return firstOf(persistErr, fail(1, cerr))
	}
	flushErr := errors.Join(cmdOut.Close(), cmdErr.Close(), stdout.Close(), stderr.Close())
	rec.Masking.Redactions = stdout.Redactions() + stderr.Redactions()
	if cerr != nil {
		var se *child.StartError
		code := ExitConfig
		if !errors.As(cerr, &se) {
			code = 1
		}
		return firstOf(persistErr, fail(code, set.SanitizeError(cerr)))
	}
	l.res.ExitCode = cres.ExitCode
	rec.Command = &record.Command{ExitCode: cres.ExitCode, Signal: cres.Signal, DurationMS: cres.Duration.Milliseconds(),
		LeaseExpired: cres.Expired, DrainTimedOut: cres.DrainTimedOut}
	if flushErr != nil {
		fmt.Fprintf(pio.Stderr, "keylease: writing the command's output failed: %s\n", l.guard.Line(flushErr.Error()))
	}
	if persistErr != nil {
		return persistErr
	}
	if refused := append(cmdOut.Refused(), cmdErr.Refused()...); len(refused) > 0 {
		return fail(ExitLeak, fmt.Errorf("the command printed a leased value or a vendor key in a persisting workflow command (%s); the line was dropped (policy no_persistence: true); treat the key as exposed: revoke and rotate it", strings.Join(refused, ", ")))
	}
	return nil
}

// checkPersistence runs the file guard (nil: no_persistence is off) and
// returns an exit-4 error when the child left a value in a runner file.
func checkPersistence(guard *fileGuard, sc scanner, set *masking.Set) error {
	if guard == nil {
		return nil
	}
	rolled, gerr := guard.check(func(b []byte) int { return len(sc.Scan(b)) })
	if len(rolled) > 0 {
		return fail(ExitLeak, fmt.Errorf("the command wrote a leased value or a vendor key to %s; it was put back as it was before the command (policy no_persistence: true); treat the key as exposed: revoke and rotate it", strings.Join(rolled, ", ")))
	} else if gerr != nil {
		return fail(ExitLeak, set.SanitizeError(gerr))
	}
	return nil
}

// firstOf is the leak when there is one (exit 4 wins), else err.
func firstOf(leak, err error) error {
	if leak != nil {
		return leak
	}
	return err
}

// Finish writes the record, the job summary and the outputs. cause is the
// lease's own error (nil when every step succeeded). Call it once, after
// Resolve returned nil or a refusal.
func (l *Lease) Finish(cause error) (*Result, error) {
	cause = l.releaseInto(cause) // delete what the lease minted, on every path
	res, o, pio, set, sc, rn := l.res, l.o, l.io, l.set, l.sc, l.rn
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
		fmt.Fprintf(pio.Stderr, "keylease: %s\n", l.guard.Line(werr.Error()))
	default:
		res.RecordPath = path
	}
	var leakErr error
	if leak != nil {
		leakErr = leak
	}
	if err := rn.summary(rec, res.RecordPath, leakErr); err != nil {
		fmt.Fprintf(pio.Stderr, "keylease: %s\n", l.guard.Line(err.Error()))
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
		fmt.Fprintf(pio.Stderr, "keylease: %s\n", l.guard.Line(err.Error()))
	}
	if res.RecordPath != "" && !rn.on {
		fmt.Fprintf(pio.Stderr, "keylease: run record %s\n", l.guard.Line(res.RecordPath))
	}
	return res, cause
}

// reportPanic prints a panic recovered from the child's output writers the
// way main's panic handler does: value and stack guarded, one line of value.
func reportPanic(w io.Writer, g safetext.Guard, pe *child.PanicError) {
	msg := strings.ReplaceAll(g.Text(fmt.Sprint(pe.Value)), "\n", "; ")
	_, _ = fmt.Fprintf(w, "keylease: internal error (panic) while redacting the command's output: %s; the command was killed\n%s\n",
		msg, g.Text(string(pe.Stack)))
}

// resolve turns --vendor and --ref into lease specs (registry.ResolveAll),
// then checks variable names are unique and not reserved and --ttl fits
// every lease. Refusals are returned for the record; anything else is a
// configuration error.
func resolve(cfg *registry.Config, o Options) ([]registry.LeaseSpec, []*registry.RefusedError, error) {
	if len(o.Vendors) == 0 && len(o.Refs) == 0 {
		return nil, nil, fail(ExitConfig, errors.New("nothing to lease: give --vendor NAME or --ref [ENVVAR=]REF (KEYLEASE_VENDOR / action input vendors)"))
	}
	specs, refused, err := cfg.ResolveAll(o.Vendors, o.Refs, o.Env)
	if err != nil {
		return nil, nil, fail(ExitConfig, err)
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

func minTTL(specs []registry.LeaseSpec, ttl time.Duration) time.Duration {
	m := ttl
	for _, s := range specs {
		if m == 0 || s.TTL < m {
			m = s.TTL
		}
	}
	return m
}

// obtainSession applies the identity rules: OIDC when the runner offers a
// token (or --identity oidc), else the AWS default chain outside Actions.
func obtainSession(ctx context.Context, o Options, pio IO, onActions bool, onToken func(secret.Value)) (aws.Config, *exchange.Session, error) {
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
	env := awsEnv(pio.Getenv)
	region := env.region(o.Region)
	if mode == IdentityAWSDefault {
		c, err := exchange.LocalConfig(ctx, region, env.loadOptions(true)...)
		return env.withEndpoints(c), nil, err
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
	base, err := exchange.BaseConfig(ctx, region, env.loadOptions(false)...)
	if err != nil {
		return aws.Config{}, nil, err
	}
	base = env.withEndpoints(base)
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
		out = append(out, leased{spec: specs[i], value: g.Value, vid: g.VersionID, keyID: g.KeyID, issued: now})
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
