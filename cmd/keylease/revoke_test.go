package main

import (
	"context"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
)

// TestRevokeUsage: revoke's and incident's usage errors exit 2 before any call, and a key
// given as a flag is refused without being shown.
func TestRevokeUsage(t *testing.T) {
	t.Parallel()
	key := "sk-proj-" + strings.Repeat("Ab3dE", 10) + "T3BlbkFJ" + strings.Repeat("x9Yz", 10)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no reason", []string{"revoke", "--vendor", "openai", "--env", "ci"}, "revoke needs --vendor, --env and --reason"},
		{"bad reason", []string{"revoke", "--vendor", "openai", "--env", "ci", "--reason", "Leaked Key!"}, "give a short label"},
		{"argument", []string{"revoke", "--vendor", "openai", "--env", "ci", "--reason", "x", "extra"}, "revoke takes no arguments"},
		{"key as reason", []string{"revoke", "--vendor", "openai", "--env", "ci", "--reason", key}, "looks like a key"},
		{"bad env", []string{"revoke", "--vendor", "openai", "--env", "c i", "--reason", "x"}, "not a registry environment name"},
		{"incident no type", []string{"incident", "--vendor", "openai", "--env", "ci"}, "incident needs --vendor, --env and --type"},
		{"incident bad type", []string{"incident", "--vendor", "openai", "--env", "ci", "--type", "oops"}, "use suspected-leak, confirmed-leak, other"},
		{"incident bad repo", []string{"incident", "--vendor", "openai", "--env", "ci", "--type", "other", "--repo", "noslash"}, "give owner/name"},
		{"incident bad since", []string{"incident", "--vendor", "openai", "--env", "ci", "--type", "other", "--since", "soon"}, "whole days (7d)"},
		{"incident missing path", []string{"incident", "--vendor", "openai", "--env", "ci", "--type", "other", "--scan", "no-such-dir-here"}, "--scan no-such-dir-here"},
	} {
		e, out, errb := testEnv(map[string]string{})
		code := realMain(context.Background(), tc.args, e)
		if code != exitConfig || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tc.name, code, errb.String(), tc.want)
		}
		leakcheck.Assert(t, tc.name+" stdout", out.Bytes(), key)
		leakcheck.Assert(t, tc.name+" stderr", errb.Bytes(), key)
	}
}
