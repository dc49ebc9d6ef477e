package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/secret"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	const good = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyz"
	cases := []struct {
		name, value, prefix, want string
	}{
		{"ok", good, "sk-", ""},
		{"no prefix asked", "anything-at-all-1234", "", ""},
		{"empty", "", "sk-", "the value is empty"},
		{"nul", "sk-abc\x00def-0123456789", "sk-", "NUL byte"},
		{"too long", "sk-" + strings.Repeat("a", exchange.MaxValueBytes), "sk-", "-byte limit of one environment variable"},
		{"wrong prefix", "xai-0123456789abcdefghijklmnopqrstuvwxyz", "sk-", "does not start with the policy's required prefix for openai"},
	}
	for _, c := range cases {
		v := secret.FromString(c.value)
		err := Check("env", "env://K", v, c.prefix, "openai")
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var se *Error
		if !errors.As(err, &se) || se.Code != CodeBadValue || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "env env://K: BadValue: ") {
			t.Errorf("%s: %v; want a BadValue naming the ref with %q", c.name, err, c.want)
		}
		if len(c.value) < 1000 {
			leakcheck.Assert(t, c.name, []byte(err.Error()), c.value)
		}
		if !v.IsZero() && strings.Trim(string(v.Bytes()), "\x00") != "" {
			t.Errorf("%s: a refused value was not wiped", c.name)
		}
	}
}
