package env

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/store"
)

func TestFetch(t *testing.T) {
	t.Parallel()
	const direct, listed, padded = "sk-direct-0123456789abcdef", "sk-listed-0123456789abcdef", "sk-padded=0123456789abcdef=="
	getenv := testkit.Getenv(map[string]string{
		"DIRECT_KEY":  direct,
		SecretsEnvVar: "garbage line without equals sign\nLISTED_KEY=" + listed + "\r\nDIRECT_KEY=" + direct + "\nEMPTY_KEY=\nPADDED_KEY=" + padded + "\n",
	})
	s := New(getenv)
	for name, want := range map[string]string{"DIRECT_KEY": direct, "LISTED_KEY": listed, "PADDED_KEY": padded} {
		ref, err := registry.ParseRef("env://"+name, nil)
		testkit.Must(t, err)
		v, vid, err := s.Fetch(context.Background(), ref)
		if err != nil || string(v.Bytes()) != want || vid != "" {
			t.Errorf("%s: got %d bytes, %q, %v", name, v.Len(), vid, err)
		}
	}
	for _, name := range []string{"MISSING_KEY", "EMPTY_KEY"} {
		ref, _ := registry.ParseRef("env://"+name, nil)
		_, _, err := s.Fetch(context.Background(), ref)
		var se *store.Error
		if !errors.As(err, &se) || se.Code != store.CodeNotFound || se.Ref != "env://"+name {
			t.Errorf("%s: %v; want NotFound naming the ref", name, err)
		}
		leakcheck.Assert(t, name, []byte(err.Error()), direct, listed, padded)
	}
}

// A name with two different values (the variable and a secrets-env line, or
// two lines) is refused rather than one of them chosen: the variable may be
// one the job or an earlier step set (GITHUB_ENV), not the mapped secret.
func TestFetchAmbiguous(t *testing.T) {
	t.Parallel()
	const mapped, other = "sk-mapped-0123456789abcdef", "sk-other-0123456789abcdefg"
	cases := map[string]map[string]string{
		"variable and line":    {"OPENAI_CI_KEY": other, SecretsEnvVar: "OPENAI_CI_KEY=" + mapped},
		"two lines":            {SecretsEnvVar: "OPENAI_CI_KEY=" + mapped + "\nOPENAI_CI_KEY=" + other},
		"two lines, one empty": {SecretsEnvVar: "OPENAI_CI_KEY=\n OPENAI_CI_KEY=" + other},
	}
	ref, err := registry.ParseRef("env://OPENAI_CI_KEY", nil)
	testkit.Must(t, err)
	for name, env := range cases {
		v, _, err := New(testkit.Getenv(env)).Fetch(context.Background(), ref)
		var se *store.Error
		if !errors.As(err, &se) || se.Code != store.CodeRefused || !v.IsZero() {
			t.Errorf("%s: got %d bytes, %v; want Refused", name, v.Len(), err)
			continue
		}
		if !strings.Contains(err.Error(), "env env://OPENAI_CI_KEY: Refused: OPENAI_CI_KEY ") {
			t.Errorf("%s: %v does not name the ref and the variable", name, err)
		}
		leakcheck.Assert(t, name, []byte(err.Error()), mapped, other)
	}
	// The same value twice is one value.
	v, _, err := New(testkit.Getenv(map[string]string{"OPENAI_CI_KEY": mapped, SecretsEnvVar: "OPENAI_CI_KEY=" + mapped + "\nOPENAI_CI_KEY=" + mapped})).Fetch(context.Background(), ref)
	if err != nil || string(v.Bytes()) != mapped {
		t.Errorf("the same value twice: %d bytes, %v", v.Len(), err)
	}
}
