package main

import (
	"context"
	"errors"
	"flag"
	"strconv"
	"strings"
	"time"

	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
)

func init() {
	register(&command{name: "rotate", summary: "rotate a vendor key through Secrets Manager's staging labels: keylease rotate --vendor V --env E | --due", run: runRotate})
}

// rotateFlags read KEYLEASE_<FLAG> when not given (the reusable workflow
// passes its inputs that way).
var rotateFlags = []string{"registry", "policy", "vendor", "env", "role-arn", "region", "audience", "oidc-issuer", "identity",
	"registry-update", "retire-after", "due", "dry-run", "force", "record-dir", "setup-timeout"}

func parseRotate(args []string, e *env) (lifecycle.RotateOptions, error) {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	var o lifecycle.RotateOptions
	lo := &o.Lease
	var retire, setup string
	sessionFlags(fs, lo, &setup)
	fs.StringVar(&o.Vendor, "vendor", "", "vendor `NAME` of the entry to rotate (with --due: only this vendor)")
	fs.StringVar(&o.Env, "env", "", "registry environment of the entry (with --due: only this environment)")
	fs.StringVar(&o.RegistryUpdate, "registry-update", "", "pr, write or none (default pr under GitHub Actions, else write)")
	fs.StringVar(&retire, "retire-after", "", "retire the old key this long after promotion: a Go duration or whole days (30d); default the environment's TTL cap")
	fs.BoolVar(&o.Due, "due", false, "rotate every entry whose last_rotated + policy rotation_days has passed")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan; change nothing")
	fs.BoolVar(&o.Force, "force", false, "rotate even if this entry's current version is the one keylease just promoted")
	fs.StringVar(&o.RecordDir, "record-dir", "", "`directory` for the rotation records (default $RUNNER_TEMP/keylease)")
	if err := parseFlags(fs, args, e, "Usage: keylease rotate --vendor V --env E [flags] | keylease rotate --due [flags]",
		"Every flag also reads KEYLEASE_<FLAG> (e.g. KEYLEASE_ROLE_ARN)."); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usageError("rotate takes no arguments; give --vendor and --env, or --due")
	}
	source, err := fillFromEnv(fs, rotateFlags, nil, e)
	if err != nil {
		return o, err
	}
	if err := checkSettings(fs, rotateFlags, source, o.Env); err != nil {
		return o, err
	}
	o.RetireAfter = -1
	if retire != "" {
		d, err := parseDays(retire)
		if err != nil {
			return o, usageError("%s %s: write a Go duration (15m, 720h) or whole days (30d)", orFlag(source["retire-after"], "retire-after"), retire)
		}
		o.RetireAfter = d
	}
	if lo.SetupTimeout, err = parseSeconds("--setup-timeout", setup); err != nil {
		return o, err
	}
	lo.Env = o.Env
	if lo.Env == "" {
		lo.Env = "ci"
	}
	lo.Version = version
	return o, nil
}

func orFlag(source, name string) string {
	if source != "" {
		return source
	}
	return "--" + name
}

// parseDays is a Go duration or whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 3650 {
			return 0, errors.New("bad days")
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func runRotate(ctx context.Context, args []string, e *env) error {
	o, err := parseRotate(args, e)
	if err != nil {
		return err
	}
	res, err := lifecycle.RunRotate(ctx, o, lease.IO{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Environ: e.environ})
	code := 0
	if res != nil {
		code = res.ExitCode
	}
	return leaseExit(code, err)
}
