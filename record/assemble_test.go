package record

import (
	"testing"
	"time"

	"github.com/keylease/keylease/registry"
)

func TestAssemble(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}
	specs := []registry.LeaseSpec{{Vendor: "openai", Env: "ci", Ref: registry.Ref{Raw: "kv://openai/ci/api_key"},
		EnvVar: "OPENAI_API_KEY", TTL: 300 * time.Second}}
	r := New("v1", func(k string) string { return env[k] }, specs)
	if r.Run.Mode != "github-actions" || r.Run.Repository != "o/r" || r.Run.RunID != "7" || len(r.Leases) != 1 ||
		r.Leases[0].TTLSeconds != 300 || r.Leases[0].Outcome != OutcomeFailed {
		t.Fatalf("New: %+v", r)
	}
	if l := New("v1", func(string) string { return "" }, nil); l.Run.Mode != "local" || l.Run.Repository != "" {
		t.Errorf("outside Actions: %+v", l.Run)
	}
	r.Leases = append(r.Leases, Refused(&registry.RefusedError{Vendor: "acme", Env: "ci", Reason: registry.ReasonNotAllowed}))
	if l := r.Leases[1]; l.EnvVar != "ACME_API_KEY" || l.Outcome != OutcomeRefused || l.Error != registry.ReasonNotAllowed {
		t.Errorf("Refused: %+v", l)
	}
	r.MarkAll(OutcomeRefused, "not fetched")
	if r.Leases[0].Error != "not fetched" || r.Leases[1].Error != registry.ReasonNotAllowed || r.Leases[0].Outcome != OutcomeRefused {
		t.Errorf("MarkAll: %+v", r.Leases)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	r.MarkLeased(0, at, at.Add(time.Minute), "v-1")
	if l := r.Leases[0]; !l.IssuedAt.Equal(at.Truncate(time.Second)) || l.VersionID != "v-1" || l.Outcome != OutcomeLeased {
		t.Errorf("MarkLeased: %+v", l)
	}
}
