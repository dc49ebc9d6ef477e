package main

import (
	"context"
	"flag"

	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
)

func init() {
	register(&command{name: "revoke", summary: "disable a vendor key, verify it is refused, tombstone it: keylease revoke --vendor V --env E --reason LABEL", run: runRevoke})
}

// revokeFlags read KEYLEASE_<FLAG> when not given (revoke.yml passes its
// inputs that way).
var revokeFlags = []string{"registry", "policy", "vendor", "env", "role-arn", "region", "audience", "oidc-issuer", "identity",
	"reason", "version", "registry-update", "confirm-manual", "dry-run", "record-dir", "setup-timeout"}

func parseRevoke(args []string, e *env) (lifecycle.RevokeOptions, error) {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	var o lifecycle.RevokeOptions
	lo := &o.Lease
	var setup string
	sessionFlags(fs, lo, &setup)
	fs.StringVar(&o.Vendor, "vendor", "", "vendor `NAME` of the entry whose key is revoked")
	fs.StringVar(&o.Env, "env", "", "registry environment of the entry")
	fs.StringVar(&o.Reason, "reason", "", "short `LABEL` for the revocation (suspected-leak, offboarding, …); goes into the tombstone and the record")
	fs.StringVar(&o.Version, "version", lifecycle.VersionCurrent, "which key: current, previous or a Secrets Manager version `ID`")
	fs.StringVar(&o.RegistryUpdate, "registry-update", "", "pr, write or none (default pr under GitHub Actions, else write)")
	fs.BoolVar(&o.ConfirmManual, "confirm-manual", false, "the key was disabled by hand at the vendor's console (where keylease cannot call the vendor): go on with the local steps")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan; change nothing")
	fs.StringVar(&o.RecordDir, "record-dir", "", "`directory` for the revocation record (default $RUNNER_TEMP/keylease)")
	if err := parseFlags(fs, args, e, "Usage: keylease revoke --vendor V --env E --reason LABEL [--version current|previous|ID] [flags]",
		"Every flag also reads KEYLEASE_<FLAG> (e.g. KEYLEASE_ROLE_ARN)."); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usageError("revoke takes no arguments; give --vendor, --env and --reason")
	}
	source, err := fillFromEnv(fs, revokeFlags, nil, e)
	if err != nil {
		return o, err
	}
	if err := checkSettings(fs, revokeFlags, source, o.Env); err != nil {
		return o, err
	}
	if o.Vendor == "" || o.Env == "" || o.Reason == "" {
		return o, usageError("revoke needs --vendor, --env and --reason")
	}
	if lo.SetupTimeout, err = parseSeconds("--setup-timeout", setup); err != nil {
		return o, err
	}
	lo.Env, lo.Version = o.Env, version
	return o, nil
}

func runRevoke(ctx context.Context, args []string, e *env) error {
	o, err := parseRevoke(args, e)
	if err != nil {
		return err
	}
	res, err := lifecycle.RunRevoke(ctx, o, lease.IO{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Environ: e.environ})
	code := 0
	if res != nil {
		code = res.ExitCode
	}
	return leaseExit(code, err)
}
