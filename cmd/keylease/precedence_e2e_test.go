package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/record"
)

// TestExecFlagPrecedence: README says every flag also reads KEYLEASE_<FLAG>
// and that a flag on the command line wins; an INPUT_<NAME> variable (which
// a composite action's steps never get) is not read. Each source gets a
// different (valid) value here and the run record shows which one the real
// binary used.
func TestExecFlagPrecedence(t *testing.T) {
	t.Parallel()
	const (
		envRole   = "arn:aws:iam::111111111111:role/keylease-from-env"
		inputRole = "arn:aws:iam::222222222222:role/keylease-from-input"
	)
	tests := []struct {
		name        string
		setup       func(r *e2e)
		args        []string
		wantRole    string // "" : the stack's role
		wantVendors []string
	}{
		{"flag beats env", func(r *e2e) {
			r.env["KEYLEASE_ROLE_ARN"] = envRole
		}, []string{"--vendor", "openai", "--role-arn", "FLAG"}, "", []string{"openai"}},
		{"env alone is used", func(r *e2e) {
			r.env["KEYLEASE_ROLE_ARN"] = envRole
		}, []string{"--vendor", "openai"}, envRole, []string{"openai"}},
		{"env beats an INPUT_ variable", func(r *e2e) {
			r.env["INPUT_ROLE-TO-ASSUME"] = inputRole
			r.env["INPUT_ROLE_TO_ASSUME"] = inputRole
		}, []string{"--vendor", "openai"}, "", []string{"openai"}},
		// Not seeded (anthropic) and refused in prod: used, they would fail the lease.
		{"vendor flag beats env", func(r *e2e) {
			r.env["KEYLEASE_VENDOR"] = "anthropic"
			r.env["INPUT_VENDORS"] = "anthropic,xai"
		}, []string{"--vendor", "openai"}, "", []string{"openai"}},
		{"env flag beats env", func(r *e2e) {
			r.env["KEYLEASE_ENV"] = "prod"
			r.env["INPUT_ENVIRONMENT"] = "prod"
		}, []string{"--vendor", "openai", "--env", "ci"}, "", []string{"openai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newE2E(t, "openai")
			tt.setup(r)
			args := slices.Clone(tt.args)
			if i := slices.Index(args, "FLAG"); i >= 0 {
				args[i] = r.stack.RoleARN
			}
			wantRole := tt.wantRole
			if wantRole == "" {
				wantRole = r.stack.RoleARN
			}
			res := r.run("sha", args...)
			values := append([]string{}, r.extra...)
			for _, v := range r.keys {
				values = append(values, v)
			}
			leakcheck.Assert(t, "stdout (without ::add-mask::)", stdoutWithoutAddMask(res.stdout), values...)
			leakcheck.Assert(t, "stderr", res.stderr, values...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			r.received()
			b, err := os.ReadFile(res.outputs["record-path"])
			testkit.Must(t, err)
			leakcheck.Assert(t, "the run record", b, values...)
			rec, err := record.Decode(b)
			testkit.Must(t, err)
			if rec.Session == nil || rec.Session.Source != "oidc" || rec.Session.RoleARN != wantRole {
				t.Errorf("session %+v, want oidc with role %s", rec.Session, wantRole)
			}
			var vendors []string
			for _, l := range rec.Leases {
				vendors = append(vendors, l.Vendor)
				if l.Outcome != record.OutcomeLeased || l.Environment != "ci" {
					t.Errorf("lease %+v, want leased in ci", l)
				}
			}
			if !slices.Equal(vendors, tt.wantVendors) {
				t.Errorf("leased vendors %v, want %v", vendors, tt.wantVendors)
			}
		})
	}
}

// stdoutWithoutAddMask drops the runner's ::add-mask:: lines, the one place
// a value is meant to appear on stdout.
func stdoutWithoutAddMask(b []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("::add-mask::")) {
			out = append(out, line...)
		}
	}
	return out
}

// TestExecIgnoresInputVariables: a composite action's steps get no INPUT_*
// variables (action.yml passes every input as KEYLEASE_*), so exec reads
// none: with the vendors only in INPUT_VENDORS there is nothing to lease.
func TestExecIgnoresInputVariables(t *testing.T) {
	t.Parallel()
	e, _, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": t.TempDir(),
		"INPUT_VENDORS": "openai", "INPUT_REGISTRY": cfgReg, "INPUT_POLICY": cfgPol})
	code := realMain(context.Background(), []string{"exec", "--registry", cfgReg, "--policy", cfgPol, "--", "true"}, e)
	if code != exitConfig || !strings.Contains(errb.String(), "nothing to lease") {
		t.Errorf("exit %d, stderr %q; want %d and nothing to lease", code, errb.String(), exitConfig)
	}
}
