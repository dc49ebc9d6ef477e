package lifecycle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/auditreport"
)

const readOnlyToken = "ghs_readOnlyJobToken9876543210zyxwvuTS"

// TestAuditSecretsCheckSkippedWithoutPermission: with a token that cannot
// list secrets (the job's GITHUB_TOKEN), the check is reported skipped,
// never passed; KEYLEASE_SECRETS_TOKEN brings it back.
func TestAuditSecretsCheckSkippedWithoutPermission(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	w.gh.AddToken(readOnlyToken, false)
	w.secrets = append(w.secrets, readOnlyToken)
	w.vars["GITHUB_TOKEN"] = readOnlyToken
	rep, _, err := w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	if n := ids(rep)[auditreport.VendorKeyInGitHub]; n != 0 {
		t.Fatalf("%d vendor-key-in-github-secrets findings without permission", n)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Check != auditreport.VendorKeyInGitHub {
		t.Fatalf("skipped %+v, want the secrets check", rep.Skipped)
	}
	if ids(rep)[auditreport.LeakInLogs] != 1 {
		t.Fatalf("the other checks did not run with the read-only token: %v", ids(rep))
	}
	w.vars["KEYLEASE_SECRETS_TOKEN"] = ghToken
	rep, _, err = w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	if ids(rep)[auditreport.VendorKeyInGitHub] != 1 || len(rep.Skipped) != 0 {
		t.Fatalf("with KEYLEASE_SECRETS_TOKEN: %v, skipped %+v", ids(rep), rep.Skipped)
	}
}

// TestAuditFailOn: leaks exit 4 whatever --fail-on says; without them,
// high findings exit 5 at --fail-on high.
func TestAuditFailOn(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	o := w.options()
	o.Outputs.FailOn = auditreport.Low
	if _, code, err := w.audit(o); err != nil || code != auditreport.ExitLeak {
		t.Fatalf("with leaks: exit %d, %v; want 4", code, err)
	}
	w.gh.Lock()
	w.gh.RepoState("acme", "app").Runs = nil
	w.gh.Unlock()
	o.Outputs.FailOn = auditreport.High
	if _, code, err := w.audit(o); err != nil || code != auditreport.ExitFindings {
		t.Fatalf("high findings at --fail-on high: exit %d, %v; want 5", code, err)
	}
}

// TestAuditETagCacheFile: --etag-cache is written after a run (value-free)
// and makes the next run's unchanged GitHub answers 304s.
func TestAuditETagCacheFile(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	o := w.options()
	o.ETagCache = filepath.Join(w.dir, "etags.json")
	first, _, err := w.audit(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(o.ETagCache)
	if err != nil {
		t.Fatal(err)
	}
	w.check("etag cache", b)
	before := w.gh.Counters().NotModified
	second, _, err := w.audit(o)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.gh.Counters().NotModified - before; n < 4 {
		t.Fatalf("%d answers were 304 on the second run, want the workflow directory and file, secrets, environments, runs", n)
	}
	if ids(second)[auditreport.LeakInLogs] != 1 || ids(second)[auditreport.SecretExposedToSteps] != ids(first)[auditreport.SecretExposedToSteps] {
		t.Fatalf("the cached run found otherwise: %v vs %v", ids(second), ids(first))
	}
}

// TestAuditRetireAfterNotDue: with rotate's --retire-after not yet passed
// the old key is neither reported nor retired.
func TestAuditRetireAfterNotDue(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	o := w.options()
	o.RetireAfter = 24 * time.Hour // promoted two hours ago
	rep, _, err := w.audit(o)
	if err != nil {
		t.Fatal(err)
	}
	if n := ids(rep)[auditreport.OldKeyNotRetired]; n != 0 {
		t.Fatalf("old-key-not-retired %d times before its retire time", n)
	}
	if tag := w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag]; !strings.Contains(tag, "retire=pending") {
		t.Fatalf("the audit retired early: %q", tag)
	}
}

// TestAuditNoSessionIsUnreached: when the AWS session fails, every entry
// is unreached (not passed), the GitHub checks still run, and the exit is
// not 0 even with no finding at --fail-on.
func TestAuditNoSessionIsUnreached(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	w.gh.Lock()
	w.gh.RepoState("acme", "app").Runs = nil
	w.gh.Unlock()
	o := w.options()
	o.Lease.OIDCIssuer = "https://issuer.invalid" // the token is not from it: no session
	rep, code, err := w.audit(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unreached) != 7 || ids(rep)[auditreport.SecretExposedToSteps] != 1 {
		t.Fatalf("unreached %d (want the 7 entries), findings %v", len(rep.Unreached), ids(rep))
	}
	if code != auditreport.ExitFindings {
		t.Fatalf("exit %d, want 5", code)
	}
}

// TestAuditPolicyRaisesNeverLowers: the policy's audit_severity raises
// rotation-overdue to high; asking leak-in-logs to be low changes nothing.
func TestAuditPolicyRaisesNeverLowers(t *testing.T) {
	t.Parallel()
	w := newAuditWorld(t)
	write(t, w.pol, strings.Replace(auditPolicy, `"rotation_days"`, `"audit_severity": {"rotation-overdue": "high", "leak-in-logs": "low"}, "rotation_days"`, 1))
	rep, _, err := w.audit(w.options())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		switch f.ID {
		case auditreport.RotationOverdue, auditreport.LeakInLogs:
			if f.Severity != auditreport.High {
				t.Errorf("%s is %s, want high", f.ID, f.Severity)
			}
		}
	}
}
