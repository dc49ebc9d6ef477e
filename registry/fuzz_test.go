package registry

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// valueLikeTokens returns every maximal run of key characters in data that
// LooksLikeValue flags: the text a message must never repeat.
func valueLikeTokens(data []byte) []string {
	var out []string
	isTok := func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }
	for i := 0; i < len(data); {
		if !isTok(data[i]) {
			i++
			continue
		}
		j := i
		for j < len(data) && isTok(data[j]) {
			j++
		}
		if _, ok := LooksLikeValue(string(data[i:j])); ok {
			out = append(out, string(data[i:j]))
		}
		i = j
	}
	return out
}

func fuzzSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkParse is the fuzz invariant: Parse never panics, no message repeats
// a value-like token of the input, and a configuration that loads holds
// nothing value-like.
func checkParse(t *testing.T, input []byte, reg, pol []byte) {
	c, err := Parse("r.yaml", reg, "p.json", pol)
	if err != nil {
		msg := err.Error()
		for _, tok := range valueLikeTokens(input) {
			if strings.Contains(msg, tok) {
				t.Fatalf("message repeats a value-like token of the input (%d bytes):\n%s", len(tok), msg)
			}
		}
		return
	}
	for _, e := range c.Registry.Entries() {
		for _, s := range append([]string{e.Vendor, e.Env, e.Ref.Raw, e.ExpiryPolicy}, e.Scope...) {
			if _, bad := LooksLikeValue(s); bad {
				t.Fatalf("a valid registry holds a value-like string in %s.%s", e.Vendor, e.Env)
			}
		}
	}
	for v, p := range c.Policy.RequiredPrefix {
		if _, bad := LooksLikeValue(v + p); bad {
			t.Fatal("a valid policy holds a value-like prefix")
		}
	}
}

func FuzzLoadRegistry(f *testing.F) {
	fuzzSeeds(f, "../testdata/registry/*.yaml")
	fuzzSeeds(f, "../configs/*.yaml")
	fuzzSeeds(f, "testdata/update/*.yaml")
	f.Add([]byte("openai:\n  ci:\n    secret_ref: \"sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0Jf\"\n"))
	f.Add([]byte("? [a]\n: b\n"))
	pol, err := os.ReadFile("../testdata/registry/ok-policy.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data, data, pol)
	})
}

func FuzzLoadPolicy(f *testing.F) {
	fuzzSeeds(f, "../testdata/registry/*.json")
	fuzzSeeds(f, "../configs/*.json")
	f.Add([]byte(`{"version":1,"allowed_secrets":["openai"],"required_prefix":{"openai":"sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0Jf"}}`))
	f.Add([]byte(`{"AKIAFAKE0EXAMPLE7Q2Z": 1, "a": "\u0073k-ant-x"}`))
	reg, err := os.ReadFile("../testdata/registry/ok-registry.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data, reg, data)
	})
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"kv://openai/ci/api_key", "aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:x#k", "op://x", fakeKey, "kv://" + fakeKey} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := ParseRef(raw, nil)
		if err == nil {
			return
		}
		for _, tok := range valueLikeTokens([]byte(raw)) {
			if strings.Contains(err.Error(), tok) {
				t.Fatalf("error repeats a value-like token: %v", err)
			}
		}
		// The error never quotes the input: it is a fixed text, at most
		// naming a short, plain scheme.
		msg := err.Error()
		rest, ok := strings.CutPrefix(msg, "ref "+unparsedRef+": ")
		if !ok {
			rest, ok = strings.CutPrefix(msg, "ref "+redactedRef+": ")
		}
		if !ok {
			t.Fatalf("error does not start with a placeholder: %q", msg)
		}
		if m := quotedScheme.FindStringSubmatch(rest); m != nil && !cleanScheme.MatchString(m[1]) {
			t.Fatalf("error names an unclean scheme: %q", msg)
		}
		if strings.ContainsAny(rest, "\r\n") || strings.Count(rest, `"`) > 2 {
			t.Fatalf("error quotes its input: %q", msg)
		}
	})
}

var quotedScheme = regexp.MustCompile(`^has unsupported scheme "([^"]*)"`)
