package main

import (
	"context"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
)

// TestFlagAfterPathRefused: Go's flag parsing stops at the first path, so
// a flag after it would be taken as one more path: incident's --repo would
// go unscanned (the revocation still done, and the run's logs not read)
// and audit merge's --issue read as a report. Both refuse it, exit 2,
// before any call.
func TestFlagAfterPathRefused(t *testing.T) {
	t.Parallel()
	key := "sk-proj-" + strings.Repeat("Ab3dE", 10) + "T3BlbkFJ" + strings.Repeat("x9Yz", 10)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"incident", []string{"incident", "--vendor", "openai", "--env", "ci", "--type", "other", dir, "--repo", "acme/app"}},
		{"incident --scan then path", []string{"incident", "--vendor", "openai", "--env", "ci", "--type", "other", "--scan", dir, dir, "--since", "3d"}},
		{"audit merge", []string{"audit", "merge", "shard-1.json", "--issue"}},
	} {
		e, out, errb := testEnv(map[string]string{})
		code := realMain(context.Background(), tc.args, e)
		if code != exitConfig || !strings.Contains(errb.String(), "flags come before the paths") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming the flag after a path", tc.name, code, errb.String())
		}
		leakcheck.Assert(t, tc.name+" stdout", out.Bytes(), key)
		leakcheck.Assert(t, tc.name+" stderr", errb.Bytes(), key)
	}
}

// TestAuditRepoRefused: a --repo that is not owner/name as GitHub spells
// them (a newline that would start a workflow command in every line about
// it, a path) or that looks like a key is refused, exit 2, before any
// call, without repeating a key.
func TestAuditRepoRefused(t *testing.T) {
	t.Parallel()
	key := "sk-proj-" + strings.Repeat("Ab3dE", 10) + "T3BlbkFJ" + strings.Repeat("x9Yz", 10)
	for _, repo := range []string{"acme/a\n::error::x", "acme/a/b", "acme", "-acme/a", "acme/" + key} {
		e, out, errb := testEnv(map[string]string{"GITHUB_TOKEN": "x"})
		code := realMain(context.Background(), []string{"audit", "--repo", repo}, e)
		if code != exitConfig || !strings.Contains(errb.String(), "--repo") {
			t.Errorf("--repo %q: exit %d, stderr %q; want exit 2", repo, code, errb.String())
		}
		for _, line := range strings.Split(errb.String()+out.String(), "\n") {
			if strings.HasPrefix(line, "::error::x") {
				t.Errorf("--repo %q started a workflow command: %q", repo, line)
			}
		}
		leakcheck.Assert(t, "stdout", out.Bytes(), key)
		leakcheck.Assert(t, "stderr", errb.Bytes(), key)
	}
}

// TestAuditETagCacheStdoutRefused: --etag-cache - would print the cache
// into stdout, where --report - writes the report, and never be read back.
func TestAuditETagCacheStdoutRefused(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{{}, {"KEYLEASE_ETAG_CACHE": "-"}} {
		args := []string{"audit", "--repo", "acme/app"}
		if len(env) == 0 {
			args = append(args, "--etag-cache", "-")
		}
		e, out, errb := testEnv(env)
		if code := realMain(context.Background(), args, e); code != exitConfig || !strings.Contains(errb.String(), "give a file") {
			t.Errorf("%v %v: exit %d, stdout %q stderr %q; want exit 2", args, env, code, out, errb)
		}
	}
}
