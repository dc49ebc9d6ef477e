package registry

import (
	"errors"
	"strings"
	"testing"
)

const severityRegistry = `openai:
  ci:
    secret_ref: "aws-sm://openai/ci"
    scope: ["llm:chat"]
    max_ttl_seconds: 60
`

func severityPolicy(extra string) []byte {
	return []byte(`{"version": 1, "allowed_secrets": ["openai"], "flags": {"no_logging": true, "no_persistence": true}` + extra + `}`)
}

// TestPolicyAuditSeverity: audit_severity maps finding ids to severities;
// unknown ids and severities are refused with the path.
func TestPolicyAuditSeverity(t *testing.T) {
	t.Parallel()
	c, err := Parse("r.yaml", []byte(severityRegistry), "p.json", severityPolicy(`, "audit_severity": {"rotation-overdue": "high"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.AuditSeverity["rotation-overdue"] != "high" {
		t.Fatalf("audit_severity %v", c.Policy.AuditSeverity)
	}
	for bad, want := range map[string]string{
		`, "audit_severity": {"made-up": "high"}`:          "audit_severity.made-up: unknown key; known keylease audit finding ids: rotation-overdue",
		`, "audit_severity": {"leak-in-logs": "critical"}`: "audit_severity.leak-in-logs: unsupported value; use one of: low, medium, high",
	} {
		_, err := Parse("r.yaml", []byte(severityRegistry), "p.json", severityPolicy(bad))
		var ps Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", bad, err, want)
		}
	}
}
