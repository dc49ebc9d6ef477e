// Package env reads env://NAME refs: a GitHub Actions secret that the
// workflow maps into keylease's own environment (`env:` on the step, or the
// action's secrets-env input). It is the migration path from GitHub secrets
// to Secrets Manager: the key is still long-lived and stored in GitHub, so
// check reports such entries as transitional.
package env

import (
	"context"
	"strings"

	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/store"
)

// SecretsEnvVar carries the action's secrets-env input: lines of NAME=VALUE
// (values of one line). The child never receives it.
const SecretsEnvVar = "KEYLEASE_SECRETS_ENV"

// Store reads keylease's environment.
type Store struct {
	getenv func(string) string
}

// New reads names through getenv (the process's, or a test's).
func New(getenv func(string) string) *Store { return &Store{getenv: getenv} }

// Fetch returns NAME's value: the variable itself, else its line in
// KEYLEASE_SECRETS_ENV. A name given two different values (the variable and
// a line, or two lines) is refused: which one the workflow meant cannot be
// known, and the other may be a variable an earlier step or the job set.
// The version id is "" (GitHub secrets have none that a job can see).
func (s *Store) Fetch(_ context.Context, ref registry.Ref) (secret.Value, string, error) {
	name := ref.SecretID
	direct := s.getenv(name)
	listed, ok, twice := fromSecretsEnv(s.getenv(SecretsEnvVar), name)
	switch {
	case twice:
		return secret.Value{}, "", store.NewError(registry.StoreEnv, ref.Raw, store.CodeRefused,
			name+" has two different values in "+SecretsEnvVar+" (the secrets-env input)", "give "+name+" one line in secrets-env", nil)
	case direct != "" && ok && listed != "" && listed != direct:
		return secret.Value{}, "", store.NewError(registry.StoreEnv, ref.Raw, store.CodeRefused,
			name+" is set in keylease's environment and in "+SecretsEnvVar+" (the secrets-env input), to different values",
			"map the secret one way only: remove "+name+" from the step's or the job's env:, or its line from secrets-env", nil)
	case direct != "":
		return secret.FromString(direct), "", nil
	case ok && listed != "":
		return secret.FromString(listed), "", nil
	}
	return secret.Value{}, "", store.NewError(registry.StoreEnv, ref.Raw, store.CodeNotFound,
		name+" is not set or empty in keylease's environment",
		"map the GitHub secret into it: env: "+name+": ${{ secrets."+name+" }} on the step, or the action's secrets-env input ("+name+"=${{ secrets."+name+" }}); a secret the workflow cannot see (a fork's pull request, another environment) is empty", nil)
}

// fromSecretsEnv finds NAME=VALUE among the lines of list; twice reports
// lines that give NAME different values. A line without '=' is skipped,
// never quoted: it may be a value.
func fromSecretsEnv(list, name string) (value string, ok, twice bool) {
	for line := range strings.SplitSeq(list, "\n") {
		k, v, has := strings.Cut(strings.TrimSuffix(line, "\r"), "=")
		if !has || strings.TrimSpace(k) != name {
			continue
		}
		if ok && v != value {
			return "", true, true
		}
		value, ok = v, true
	}
	return value, ok, false
}

// Names are the variables an env:// lease reads its value from: the child
// gets the value under the leased name only, never under these.
func Names(refs []registry.Ref) []string {
	var out []string
	for _, r := range refs {
		if r.Store() == registry.StoreEnv {
			out = append(out, r.SecretID)
		}
	}
	return out
}
