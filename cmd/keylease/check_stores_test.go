package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
)

const storesCheckPolicy = `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
 "flags": {"no_logging": true, "no_persistence": true},
 "backends": {"kv": {"type": "aws-secretsmanager"}, "env": {"environments": ["ci"]}, "keychain": {"environments": ["local"]}}}`

// check: an env:// ref in prod and a keychain:// ref in ci are refused with
// file:line; an env:// ref where the policy allows it passes, reported as
// transitional with the commands that move the key into Secrets Manager.
func TestCheckStores(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, registry string
		code           int
		want           string
	}{
		{"env in prod", "openai:\n  prod:\n    secret_ref: env://OPENAI_PROD_KEY\n    scope: [llm:chat]\n    max_ttl_seconds: 300\n", exitConfig,
			"registry.yaml:3:5: openai.prod.secret_ref: the policy does not allow env:// refs in prod; add prod to backends.env.environments"},
		{"keychain in ci", "openai:\n  ci:\n    secret_ref: keychain://keylease/openai\n    scope: [llm:chat]\n    max_ttl_seconds: 300\n", exitConfig,
			"registry.yaml:3:5: openai.ci.secret_ref: keychain:// refs are for local runs only (--env local), not ci"},
		{"env in ci", "openai:\n  ci:\n    secret_ref: env://OPENAI_CI_KEY\n    scope: [llm:chat]\n    max_ttl_seconds: 300\n", exitOK,
			"registry.yaml line 2: transitional: openai.ci reads the GitHub secret mapped into OPENAI_CI_KEY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			reg, pol := filepath.Join(dir, "registry.yaml"), filepath.Join(dir, "policy.json")
			testkit.WriteFile(t, reg, c.registry)
			testkit.WriteFile(t, pol, storesCheckPolicy)
			e, out, errb := testEnv(nil)
			code := realMain(context.Background(), []string{"check", "--registry", reg, "--policy", pol}, e)
			got := out.String() + errb.String()
			if code != c.code || !strings.Contains(got, c.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s", code, c.code, c.want, got)
			}
			if c.code == exitOK && !strings.Contains(got, `aws secretsmanager create-secret --name openai/ci/api_key --secret-string "$OPENAI_CI_KEY"`) {
				t.Errorf("no move command:\n%s", got)
			}
			assertNoSecret(t, out.String(), errb.String())
		})
	}
}
