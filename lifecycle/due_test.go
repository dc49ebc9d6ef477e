package lifecycle

import (
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/registry"
)

// TestDuePicksExactlyTheOverdue: last_rotated + rotation_days of the
// environment; never rotated is due; no cadence or no rotation block is
// never due; --vendor/--env filter.
func TestDuePicksExactlyTheOverdue(t *testing.T) {
	t.Parallel()
	reg := registryText + `  prod:
    secret_ref: "aws-sm://openai/prod"
    scope: ["llm:chat"]
    max_ttl_seconds: 300
    last_rotated: 2026-11-20
    rotation: {method: mint, admin: admin, project_id: p}
  dev:
    secret_ref: "aws-sm://openai/dev"
    scope: ["llm:chat"]
    max_ttl_seconds: 300
    rotation: {method: mint, admin: admin, project_id: p}
  local:
    secret_ref: "aws-sm://openai/local"
    scope: ["llm:chat"]
    max_ttl_seconds: 300
`
	pol := strings.Replace(policyText, `"ci": 30, "prod": 14`, `"ci": 30, "prod": 14, "dev": 30`, 1)
	pol = strings.Replace(pol, `"ci": 900, "prod": 300`, `"ci": 900, "prod": 300, "dev": 3600`, 1)
	cfg, err := registry.Parse("r.yaml", []byte(reg), "p.json", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	pick := func(now time.Time, vendor, env string) string {
		ts, err := selectTargets(cfg, RotateOptions{Due: true, Vendor: vendor, Env: env}, now)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ts {
			names = append(names, e.Env)
		}
		return strings.Join(names, ",")
	}
	tests := []struct {
		now         string
		vendor, env string
		want        string
	}{
		{"2026-10-30", "", "", "dev"},         // ci last 2026-10-01 + 30 = 10-31; prod 11-20+14; dev never
		{"2026-10-31", "", "", "ci,dev"},      // the day it falls due
		{"2026-12-04", "", "", "ci,prod,dev"}, // prod 11-20 + 14 = 12-04
		{"2026-12-04", "", "prod", "prod"},    // --env filter
		{"2026-12-04", "anthropic", "", ""},   // --vendor filter
	}
	for _, tc := range tests {
		now, _ := time.Parse(time.DateOnly, tc.now)
		if got := pick(now, tc.vendor, tc.env); got != tc.want {
			t.Errorf("%s vendor %q env %q: due %q, want %q", tc.now, tc.vendor, tc.env, got, tc.want)
		}
	}
}

// TestNothingDueCallsNothing: --due with nothing overdue exits 0 without an
// AWS session or any call.
func TestNothingDueCallsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.now = time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC) // ci rotated 2026-10-01, due 10-31
	o := w.options()
	o.Due, o.Vendor, o.Env = true, "", ""
	res, err := w.rotate(o)
	if err != nil || len(res.Records) != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if n := w.stack.SM.Faults.Counts(); len(n) != 0 {
		for _, c := range n {
			if c != 0 {
				t.Fatalf("calls made: %v", n)
			}
		}
	}
	if !strings.Contains(w.stderr.String(), "nothing due") {
		t.Fatalf("stderr %q", w.stderr.String())
	}
}
