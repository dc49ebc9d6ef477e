package record

import (
	"time"

	"github.com/keylease/keylease/registry"
)

// New starts the record of a lease of specs: the run context read through
// getenv (GitHub Actions variables, else mode "local") and one lease per spec,
// each "failed" until the lease says otherwise.
func New(version string, getenv func(string) string, specs []registry.LeaseSpec) *Record {
	rec := &Record{KeyleaseVersion: version, Run: Run{Mode: "local"}}
	if getenv("GITHUB_ACTIONS") == "true" {
		rec.Run = Run{Mode: "github-actions",
			Repository: getenv("GITHUB_REPOSITORY"), Workflow: getenv("GITHUB_WORKFLOW"), Job: getenv("GITHUB_JOB"),
			RunID: getenv("GITHUB_RUN_ID"), RunAttempt: getenv("GITHUB_RUN_ATTEMPT"), Ref: getenv("GITHUB_REF"),
			SHA: getenv("GITHUB_SHA"), Actor: getenv("GITHUB_ACTOR"), Event: getenv("GITHUB_EVENT_NAME"),
			RunnerEnvironment: getenv("RUNNER_ENVIRONMENT"), RunnerOS: getenv("RUNNER_OS")}
	}
	for _, s := range specs {
		rec.Leases = append(rec.Leases, Lease{Ref: s.Ref.Raw, Vendor: s.Vendor, Environment: s.Env,
			Scope: s.Scope, EnvVar: s.EnvVar, TTLSeconds: int64(s.TTL / time.Second), Outcome: OutcomeFailed})
	}
	return rec
}

// Refused is the record of a lease the policy or the registry refused.
func Refused(re *registry.RefusedError) Lease {
	l := Lease{Ref: re.Ref, Vendor: re.Vendor, Environment: re.Env, Outcome: OutcomeRefused, Error: re.Reason}
	if re.Vendor != "" {
		l.EnvVar = registry.EnvVarFor(re.Vendor)
	}
	return l
}

// MarkAll sets the outcome of every lease; msg replaces an empty reason.
func (r *Record) MarkAll(outcome, msg string) {
	for i := range r.Leases {
		r.Leases[i].Outcome = outcome
		if r.Leases[i].Error == "" {
			r.Leases[i].Error = msg
		}
	}
}

// MarkLeased records that lease i was delivered: when, until when, and which
// version of the secret.
func (r *Record) MarkLeased(i int, issued, expires time.Time, versionID string) {
	l := &r.Leases[i]
	l.IssuedAt = issued.UTC().Truncate(time.Second)
	l.ExpiresAt = expires.UTC()
	l.VersionID = versionID
	l.Outcome = OutcomeLeased
}
