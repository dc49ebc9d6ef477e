package env

import (
	"context"
	"errors"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/store"
)

func TestFetch(t *testing.T) {
	t.Parallel()
	const direct, listed = "sk-direct-0123456789abcdef", "sk-listed-0123456789abcdef"
	getenv := testkit.Getenv(map[string]string{
		"DIRECT_KEY":  direct,
		SecretsEnvVar: "garbage line without equals sign\nLISTED_KEY=" + listed + "\r\nDIRECT_KEY=ignored\nEMPTY_KEY=\n",
	})
	s := New(getenv)
	for name, want := range map[string]string{"DIRECT_KEY": direct, "LISTED_KEY": listed} {
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
		leakcheck.Assert(t, name, []byte(err.Error()), direct, listed)
	}
}
