package lease

import (
	"strings"
	"testing"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
)

// TestIssuedValueChecked: a minted key or federated token passes the check
// every stored value passes, not the prefix alone: a vendor answer with a
// NUL byte, or longer than one environment variable holds, is refused
// before the child is started, naming the entry and never the value.
func TestIssuedValueChecked(t *testing.T) {
	t.Parallel()
	s := registry.LeaseSpec{Vendor: "openai", Env: "prod", RequiredPrefix: "sk-"}
	cases := map[string]struct{ value, want string }{
		"ok":           {"sk-svcacct-0123456789abcdefghijklmnop", ""},
		"nul":          {"sk-svcacct-0123\x00456789abcdefghijklmnop", "NUL byte"},
		"too long":     {"sk-" + strings.Repeat("a", exchange.MaxValueBytes), "-byte limit of one environment variable"},
		"empty":        {"", "the value is empty"},
		"wrong prefix": {"xai-0123456789abcdefghijklmnopqrstuvwxyz", "does not start with the policy's required_prefix"},
	}
	for name, c := range cases {
		v := secret.FromString(c.value)
		err := checkIssued(s, v, "federated token")
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "openai.prod: the federated token ") {
			t.Errorf("%s: %v; want an error naming openai.prod with %q", name, err, c.want)
			continue
		}
		if len(c.value) < 1000 {
			leakcheck.Assert(t, name, []byte(err.Error()), c.value)
		}
		if strings.Trim(string(v.Bytes()), "\x00") != "" {
			t.Errorf("%s: a refused value was not wiped", name)
		}
	}
}
