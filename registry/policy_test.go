package registry

import (
	"errors"
	"strings"
	"testing"
)

// seedPolicy carries only what the seed makes mandatory.
const seedPolicy = `{"version": 1, "allowed_secrets": ["openai"], "required_prefix": {"openai": "sk-"},
 "flags": {"no_logging": true, "no_persistence": true}`

func entriesFor(envs ...string) string {
	var b strings.Builder
	b.WriteString("openai:\n")
	for _, e := range envs {
		b.WriteString("  " + e + ":\n    secret_ref: kv://openai/" + e + "/api_key\n    scope: [llm:chat]\n    max_ttl_seconds: 300\n")
	}
	return b.String()
}

// TestDefaultTTLCaps: a policy without ttl_caps_seconds gets the seed's
// default caps; caps it gives win per environment; an environment with
// neither stays an error.
func TestDefaultTTLCaps(t *testing.T) {
	t.Run("no caps", func(t *testing.T) {
		c, err := Parse("r.yaml", []byte(entriesFor("local", "dev", "ci", "prod")), "p.json", []byte(seedPolicy+"}"))
		if err != nil {
			t.Fatalf("a policy with only the seed's mandatory keys is refused: %v", err)
		}
		for env, want := range map[string]int{"local": 3600, "dev": 3600, "ci": 900, "prod": 300} {
			if got, ok := c.Policy.TTLCap(env); !ok || got.Seconds() != float64(want) {
				t.Errorf("cap for %s = %v, %v; want %d s", env, got, ok, want)
			}
		}
		if got, want := strings.Join(c.Policy.DefaultedCaps(), ","), "local,dev,ci,prod"; got != want {
			t.Errorf("defaulted = %s, want %s", got, want)
		}
		if got, want := c.Policy.DefaultCapsNote(), "default TTL caps: local/dev 3600 s, ci 900 s, prod 300 s"; got != want {
			t.Errorf("note = %q, want %q", got, want)
		}
	})
	t.Run("default cap is enforced", func(t *testing.T) {
		reg := strings.Replace(entriesFor("prod"), "max_ttl_seconds: 300", "max_ttl_seconds: 301", 1)
		_, err := Parse("r.yaml", []byte(reg), "p.json", []byte(seedPolicy+"}"))
		if err == nil || !strings.Contains(err.Error(), "r.yaml:5:5: openai.prod.max_ttl_seconds: 301 s exceeds the policy cap of 300 s") {
			t.Fatalf("prod over the default cap: %v", err)
		}
	})
	t.Run("partial caps", func(t *testing.T) {
		c, err := Parse("r.yaml", []byte(entriesFor("ci", "prod", "staging")), "p.json", []byte(seedPolicy+`, "ttl_caps_seconds": {"ci": 600, "staging": 1200}}`))
		if err != nil {
			t.Fatal(err)
		}
		for env, want := range map[string]int{"ci": 600, "staging": 1200, "prod": 300, "local": 3600} {
			if got, _ := c.Policy.TTLCap(env); got.Seconds() != float64(want) {
				t.Errorf("cap for %s = %v, want %d s", env, got, want)
			}
		}
		if got, want := c.Policy.DefaultCapsNote(), "default TTL caps: local/dev 3600 s, prod 300 s"; got != want {
			t.Errorf("note = %q, want %q", got, want)
		}
	})
	t.Run("all caps given", func(t *testing.T) {
		c := loadExample(t)
		if n := c.Policy.DefaultCapsNote(); n != "" || len(c.Policy.DefaultedCaps()) != 0 {
			t.Errorf("defaults reported although the policy gives every cap: %q", n)
		}
	})
	t.Run("unknown environment without cap", func(t *testing.T) {
		_, err := Parse("r.yaml", []byte(entriesFor("ci", "staging")), "p.json", []byte(seedPolicy+"}"))
		var ps Problems
		if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Line != 6 || ps[0].Field != "openai.staging" || !strings.Contains(ps[0].Msg, "no cap") {
			t.Fatalf("staging without a cap: %v", err)
		}
		assertNoValue(t, fakeKey, err.Error())
	})
	t.Run("empty caps object", func(t *testing.T) {
		_, err := Parse("r.yaml", []byte(entriesFor("ci")), "p.json", []byte(seedPolicy+`, "ttl_caps_seconds": {}}`))
		if err == nil || !strings.Contains(err.Error(), "ttl_caps_seconds: needs at least 1 key") {
			t.Fatalf("an empty ttl_caps_seconds: %v", err)
		}
	})
}
