package main

import (
	"context"
	"flag"
	"regexp"
	"strings"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
	"github.com/keylease/keylease/masking"
)

func init() {
	register(&command{name: "audit", summary: "find what the lifecycle left behind (overdue, revoked, unretired, orphaned, exposed, leaked): keylease audit [--repo O/R]... [--org ORG] | audit merge REPORT...", run: runAudit})
}

const auditUsage = "Usage: keylease audit [--registry F] [--policy F] [--repo O/R]... [--org ORG] [--shard I/N] [--since DURATION] [--retire-after DURATION] [--etag-cache F] [--fingerprints F] [--report F] [--sarif F] [--issue] [--issue-repo O/R] [--fail-on low|medium|high]\n       keylease audit merge [--report OUT] [--sarif F] [--issue] [--issue-repo O/R] [--fail-on low|medium|high] REPORT..."

// auditFlags read KEYLEASE_<FLAG> when not given.
var auditFlags = []string{"registry", "policy", "role-arn", "region", "audience", "oidc-issuer", "identity", "setup-timeout",
	"org", "shard", "since", "fingerprints", "report", "sarif", "issue", "issue-repo", "fail-on", "etag-cache", "retire-after"}

// repoName is a GitHub owner/name: an owner of up to 39 letters, digits
// and hyphens, a name of up to 100 letters, digits, '.', '_' and '-'.
var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)

// mergeFlags are audit merge's settings (it reads no KEYLEASE_<FLAG>).
var mergeFlags = []string{"report", "sarif", "issue-repo", "fingerprints", "fail-on"}

type repoList []string

func (r *repoList) String() string     { return strings.Join(*r, ",") }
func (r *repoList) Set(s string) error { *r = append(*r, s); return nil }

type auditArgs struct {
	o            lifecycle.AuditOptions
	fingerprints string
}

func outputFlags(fs *flag.FlagSet, out *lifecycle.AuditOutputs, failOn, fps *string) {
	fs.StringVar(&out.ReportPath, "report", "", "write the keylease.audit-report/v1 JSON to `file` (- for stdout)")
	fs.StringVar(&out.SARIFPath, "sarif", "", "write the findings that have a file and line as SARIF 2.1.0 to `file`")
	fs.BoolVar(&out.Issue, "issue", false, "keep one issue labelled keylease-audit: opened, updated, closed when clean")
	fs.StringVar(&out.IssueRepo, "issue-repo", "", "`owner/name` of the issue (default GITHUB_REPOSITORY)")
	fs.StringVar(failOn, "fail-on", "high", "exit 5 for findings at or above this severity: low, medium or high (leaks always exit 4)")
	fs.StringVar(fps, "fingerprints", "", "`file` of '<sha256 hex> [<length>] <ref>' lines to look for in logs and artifacts")
}

func parseAudit(args []string, e *env) (auditArgs, error) {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var a auditArgs
	o := &a.o
	lo := &o.Lease
	var setup, shard, since, failOn, retire string
	var repos repoList
	sessionFlags(fs, lo, &setup)
	fs.Var(&repos, "repo", "audit repository `owner/name` (repeatable; default GITHUB_REPOSITORY)")
	fs.StringVar(&o.Org, "org", "", "audit every repository of organization `ORG` (and its secrets)")
	fs.StringVar(&shard, "shard", "", "audit shard `I/N` of the repositories (by a hash of the full name); shard 1 also audits the registry")
	fs.StringVar(&o.ETagCache, "etag-cache", "", "`file` of GitHub answers kept between runs: unchanged ones are asked for conditionally (a 304 is free on the rate limit)")
	fs.StringVar(&retire, "retire-after", "", "an old key is due for retirement this long after promotion, as given to keylease rotate (default the environment's TTL cap)")
	fs.StringVar(&since, "since", "7d", "scan the logs and artifacts of runs created this long ago or later (Go duration or days)")
	outputFlags(fs, &o.Outputs, &failOn, &a.fingerprints)
	if err := parseFlags(fs, args, e, auditUsage, "Every flag also reads KEYLEASE_<FLAG> (e.g. KEYLEASE_ORG)."); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, usageError("audit takes no arguments (did you mean keylease audit merge REPORT...?)")
	}
	source, err := fillFromEnv(fs, auditFlags, nil, e)
	if err != nil {
		return a, err
	}
	if err := checkSettings(fs, auditFlags, source, ""); err != nil {
		return a, err
	}
	if o.ETagCache == "-" {
		// writeOut takes "-" for stdout: the cache would be printed into
		// the report's stream and never read back.
		return a, usageError("%s -: give a file; the cache is read back by the next run", orFlag(source["etag-cache"], "etag-cache"))
	}
	for _, r := range repos {
		// A --repo is printed in every line about it: one with a newline
		// would start a workflow command on the runner.
		if !repoName.MatchString(r) {
			return a, usageError("--repo %s: want owner/name as GitHub spells them (letters, digits, - in the owner; also . and _ in the name)", shownValue("--repo", r))
		}
		if det, bad := keyInSetting(r); bad {
			return a, usageError("--repo looks like a key (%s detector), not a repository; it is not shown: remove it, and revoke and rotate that key, it has been exposed", det)
		}
	}
	o.Repos = repos
	if shard != "" {
		i, n, ok := auditreport.ParseShard(shard)
		if !ok {
			return a, usageError("%s %s: want I/N with 1 <= I <= N (e.g. 2/4)", orFlag(source["shard"], "shard"), shownValue("--shard", shard))
		}
		o.Shard, o.Shards = i, n
	}
	if o.Since, err = parseDays(since); err != nil || o.Since == 0 {
		return a, usageError("%s %s: write a Go duration (72h) or whole days (7d)", orFlag(source["since"], "since"), shownValue("--since", since))
	}
	if retire != "" {
		if o.RetireAfter, err = parseDays(retire); err != nil {
			return a, usageError("%s %s: write a Go duration (15m, 720h) or whole days (30d)", orFlag(source["retire-after"], "retire-after"), shownValue("--retire-after", retire))
		}
	}
	if o.Outputs.FailOn, err = auditreport.ParseSeverity(failOn); err != nil {
		return a, usageError("%s: %v", orFlag(source["fail-on"], "fail-on"), err)
	}
	if lo.SetupTimeout, err = parseSeconds("--setup-timeout", setup); err != nil {
		return a, err
	}
	lo.Env = "admin" // the audit leases only keylease's own admin keys
	lo.Version = version
	o.Outputs.Version = version
	return a, nil
}

func loadAuditFingerprints(path string) (masking.FingerprintList, error) {
	if path == "" {
		return masking.FingerprintList{}, nil
	}
	return loadFingerprints(path)
}

func runAudit(ctx context.Context, args []string, e *env) error {
	if len(args) > 0 && args[0] == "merge" {
		return runAuditMerge(ctx, args[1:], e)
	}
	a, err := parseAudit(args, e)
	if err != nil {
		return err
	}
	if a.o.Outputs.Issue && a.o.Shards > 1 {
		return usageError("--issue with --shard: each shard writes --report and keylease audit merge --issue keeps the one issue")
	}
	if a.o.Fingerprints, err = loadAuditFingerprints(a.fingerprints); err != nil {
		return err
	}
	_, code, err := lifecycle.RunAudit(ctx, a.o, lease.IO{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Environ: e.environ})
	return leaseExit(code, err)
}

func runAuditMerge(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("audit merge", flag.ContinueOnError)
	var out lifecycle.AuditOutputs
	var failOn, fps string
	outputFlags(fs, &out, &failOn, &fps)
	if err := parseFlags(fs, args, e, auditUsage); err != nil {
		return err
	}
	if err := noFlagAfterPaths(fs.Args()); err != nil {
		return err
	}
	// The report and SARIF paths and the issue's repository are printed
	// in messages, as audit's are: checked the same way.
	if err := checkSettings(fs, mergeFlags, nil, ""); err != nil {
		return err
	}
	var err error
	if out.FailOn, err = auditreport.ParseSeverity(failOn); err != nil {
		return usageError("--fail-on: %v", err)
	}
	fl, err := loadAuditFingerprints(fps)
	if err != nil {
		return err
	}
	out.Version = version
	_, code, err := lifecycle.RunAuditMerge(ctx, fs.Args(), fl, out, lease.IO{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Environ: e.environ})
	return leaseExit(code, err)
}
