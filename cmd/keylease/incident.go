package main

import (
	"context"
	"flag"
	"strings"

	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
)

func init() {
	register(&command{name: "incident", summary: "respond to a leaked key (revoke, rotate, scan): keylease incident --vendor V --env E --type T", run: runIncident})
}

// incidentFlags read KEYLEASE_<FLAG> when not given.
var incidentFlags = []string{"registry", "policy", "vendor", "env", "role-arn", "region", "audience", "oidc-issuer", "identity",
	"type", "scan", "repo", "since", "registry-update", "record-dir", "setup-timeout"}

func parseIncident(args []string, e *env) (lifecycle.IncidentOptions, error) {
	fs := flag.NewFlagSet("incident", flag.ContinueOnError)
	var o lifecycle.IncidentOptions
	lo := &o.Lease
	var setup, since string
	var scan listFlag
	sessionFlags(fs, lo, &setup)
	fs.StringVar(&o.Vendor, "vendor", "", "vendor `NAME` of the entry whose key leaked")
	fs.StringVar(&o.Env, "env", "", "registry environment of the entry")
	fs.StringVar(&o.Type, "type", "", "incident `type`: "+strings.Join(lifecycle.IncidentTypes, ", "))
	fs.Var(&scan, "scan", "`paths` to scan for the revoked value (comma-separated or repeated; more may follow the flags)")
	fs.StringVar(&o.Repo, "repo", "", "`owner/name` whose recent workflow runs' logs and artifacts are scanned (GITHUB_TOKEN with actions: read)")
	fs.StringVar(&since, "since", "", "how far back --repo's runs are scanned: a Go duration or whole days (default 7d)")
	fs.StringVar(&o.RegistryUpdate, "registry-update", "", "pr, write or none, for the rotation's last_rotated (default pr under GitHub Actions, else write)")
	fs.StringVar(&o.RecordDir, "record-dir", "", "`directory` for the incident record (default $RUNNER_TEMP/keylease)")
	if err := parseFlags(fs, args, e, "Usage: keylease incident --vendor V --env E --type suspected-leak|confirmed-leak|other [--scan PATHS...] [--repo O/R] [--since DURATION] [flags]",
		"Every flag also reads KEYLEASE_<FLAG> (e.g. KEYLEASE_ROLE_ARN)."); err != nil {
		return o, err
	}
	source, err := fillFromEnv(fs, incidentFlags, nil, e)
	if err != nil {
		return o, err
	}
	if err := checkSettings(fs, incidentFlags, source, o.Env); err != nil {
		return o, err
	}
	if o.Vendor == "" || o.Env == "" || o.Type == "" {
		return o, usageError("incident needs --vendor, --env and --type")
	}
	if err := noFlagAfterPaths(fs.Args()); err != nil {
		return o, err
	}
	o.ScanPaths = append(append([]string{}, scan...), fs.Args()...)
	if since != "" {
		d, err := parseDays(since)
		if err != nil || d == 0 {
			return o, usageError("%s %s: write a Go duration (48h) or whole days (7d)", orFlag(source["since"], "since"), shownValue("--since", since))
		}
		o.Since = d
	}
	if lo.SetupTimeout, err = parseSeconds("--setup-timeout", setup); err != nil {
		return o, err
	}
	lo.Env, lo.Version = o.Env, version
	return o, nil
}

func runIncident(ctx context.Context, args []string, e *env) error {
	o, err := parseIncident(args, e)
	if err != nil {
		return err
	}
	res, err := lifecycle.RunIncident(ctx, o, lease.IO{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Environ: e.environ})
	code := 0
	if res != nil {
		code = res.ExitCode
	}
	return leaseExit(code, err)
}

// noFlagAfterPaths refuses a flag after the first path: flag parsing stops
// at a path, so it would be taken as one more path, and what it asked for
// not done. A path that starts with "-" is written ./-name.
func noFlagAfterPaths(args []string) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return usageError("%s after a path: flags come before the paths (a path that starts with - is written ./%s)", shownPath(a), shownPath(a))
		}
	}
	return nil
}
