package detect

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/keylease/keylease/detect/detecttest"
)

// TestRuleExamples checks every rule's own examples, gitleaks-style: each
// true positive is found by that rule (and no other), from its prefix;
// each false positive is found by no rule at all.
func TestRuleExamples(t *testing.T) {
	t.Parallel()
	rules := append(Builtin(), PolicyRule("mistral", "mst-"))
	set := NewSet(rules)
	ids := map[string]bool{}
	for _, r := range rules {
		if ids[r.ID] {
			t.Errorf("rule id %q is used twice", r.ID)
		}
		ids[r.ID] = true
		if r.Vendor == "" || len(r.Prefixes) == 0 {
			t.Errorf("%s: no vendor or no prefix", r.ID)
		}
		if len(r.TruePositives) == 0 || len(r.FalsePositives) == 0 {
			t.Errorf("%s: needs true- and false-positive examples", r.ID)
		}
		for i, tmpl := range r.TruePositives {
			text := detecttest.Expand(tmpl)
			got, start, n := set.Find([]byte(text))
			switch {
			case n == 0:
				t.Errorf("%s: true positive %d not found", r.ID, i)
			case set.Rule(got).ID != r.ID:
				t.Errorf("%s: true positive %d found by %s", r.ID, i, set.Rule(got).ID)
			case n < 20:
				t.Errorf("%s: true positive %d: finding covers only %d bytes", r.ID, i, n)
			case !hasAnyPrefix(text[start:], r.Prefixes):
				t.Errorf("%s: true positive %d: finding does not start at a prefix", r.ID, i)
			}
		}
		for i, tmpl := range r.FalsePositives {
			if got, _, n := set.Find([]byte(detecttest.Expand(tmpl))); n > 0 {
				t.Errorf("%s: false positive %d found by %s", r.ID, i, set.Rule(got).ID)
			}
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestCorpus runs the shared corpus through Find on the built-in rules
// (the scan verdict) and through Name (the name verdict).
func TestCorpus(t *testing.T) {
	t.Parallel()
	cases, err := detecttest.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, c := range cases {
		got := ""
		if r, start, n := builtin.Find([]byte(c.Text)); n > 0 {
			got = builtin.Rule(r).ID
			if ex := builtin.Rule(r).IsExample([]byte(c.Text[start : start+n])); ex != c.Example {
				t.Errorf("corpus line %d: IsExample = %v, want %v", c.Line, ex, c.Example)
			}
		}
		if got != c.Scan {
			t.Errorf("corpus line %d: Find = %q, want %q", c.Line, got, c.Scan)
		}
		found[got] = true
		if id, ok := Name(c.Text); id != c.Name || ok != (c.Name != "") {
			t.Errorf("corpus line %d: Name = %q, %v; want %q", c.Line, id, ok, c.Name)
		}
	}
	// Every built-in rule has a true positive in the corpus, so every
	// entry point tested against it is tested for every rule.
	for _, r := range Builtin() {
		if !found[r.ID] {
			t.Errorf("corpus has no true positive for %s", r.ID)
		}
	}
}

// TestNameRandomAWSSecrets: every random AWS secret access key is value-like,
// alone and where configuration would carry it. Runs split at '/' and '+'
// once let ~40% pass.
func TestNameRandomAWSSecrets(t *testing.T) {
	t.Parallel()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	r := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- deterministic fake keys on purpose
	b := make([]byte, 40)
	for range 20000 {
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		k := string(b)
		for _, s := range []string{k, "kv://openai/" + k, "label:" + k, "AWS_SECRET_ACCESS_KEY=" + k, k + "=="} {
			if _, ok := Name(s); !ok {
				t.Fatalf("Name missed an AWS-style secret (40 chars) in a %d-byte string", len(s))
			}
		}
	}
}

func TestWithPolicy(t *testing.T) {
	t.Parallel()
	rules := WithPolicy(map[string]string{"openai": "sk-", "anthropic": "sk-ant-", "mistral": "mst-", "x": "x", "aws": "AKIA"})
	var policy []string
	for _, r := range rules[len(Builtin()):] {
		policy = append(policy, r.ID+"="+r.Prefixes[0])
	}
	// sk- and AKIA are built-in prefixes; "x" is too short to mean anything.
	if got, want := strings.Join(policy, ","), "policy:anthropic=sk-ant-,policy:mistral=mst-"; got != want {
		t.Errorf("policy rules %s, want %s", got, want)
	}
	set := NewSet(rules)
	for i, tt := range []struct{ text, want string }{
		{detecttest.Expand("sk-ant-{40:alnum}"), "policy:anthropic"},
		{detecttest.Expand("sk-ant-api03-{93:key}AA"), "anthropic-api-key"},
		{detecttest.Expand("MISTRAL_API_KEY=mst-{32:alnum}"), "policy:mistral"},
		{"mst-short", ""},
	} {
		got := ""
		if r, _, n := set.Find([]byte(tt.text)); n > 0 {
			got = set.Rule(r).ID
		}
		if got != tt.want {
			t.Errorf("case %d: %q, want %q", i, got, tt.want)
		}
	}
}

// TestExpand: templates expand to the classes and lengths they name, the
// same way every time; anything else stays literal.
func TestExpand(t *testing.T) {
	t.Parallel()
	a, b := detecttest.Expand("x{8:hex}y{3*z}{json}"), detecttest.Expand("x{8:hex}y{3*z}{json}")
	if a != b {
		t.Fatal("Expand is not deterministic")
	}
	if len(a) != 1+8+1+3+6 || !strings.HasSuffix(a, "yzzz{json}") || strings.Trim(a[1:9], "0123456789abcdef") != "" {
		t.Errorf("Expand = %q", a)
	}
}

// TestPEMCoversWholeKey: the private-key finding runs through the END line,
// also when the key's line breaks became spaces (`echo $KEY` unquoted), and
// stops at a log line that follows a bare header.
func TestPEMCoversWholeKey(t *testing.T) {
	t.Parallel()
	set := NewSet(Builtin())
	for _, sep := range []string{"\n", " ", "\\n"} {
		key := detecttest.Expand("-----BEGIN RSA PRIVATE KEY-----" + sep + "{64:b64}" + sep + "{64:b64}" + sep + "{30:b64}=" + sep + "-----END RSA PRIVATE KEY-----")
		_, start, n := set.Find([]byte("x " + key + " y"))
		if start != 2 || n != len(key) {
			t.Errorf("separator %q: finding at %d, %d bytes; want 2, %d", sep, start, n, len(key))
		}
	}
}
