package registry

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keylease/keylease/internal/leakcheck"
)

const (
	exampleRegistry = "../configs/secrets-registry.yaml"
	examplePolicy   = "../configs/secrets-policy.json"
	fixtureDir      = "../testdata/registry/"
)

// fakeKey is a made-up value in OpenAI's shape; tests plant it and assert it
// never comes back in any form.
const fakeKey = "sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0JfRw4Tq7Zx"

func assertNoValue(t *testing.T, v, s string) {
	t.Helper()
	leakcheck.Assert(t, "the message", []byte(s), v)
}

func loadExample(t *testing.T) *Config {
	t.Helper()
	c, err := Load(exampleRegistry, examplePolicy)
	if err != nil {
		t.Fatalf("example configs do not load: %v", err)
	}
	return c
}

func TestLoadExample(t *testing.T) {
	t.Parallel()
	c := loadExample(t)
	if got, want := c.Registry.Vendors(), []string{"openai", "anthropic", "xai"}; !cmp.Equal(got, want) {
		t.Errorf("vendors %v, want %v", got, want)
	}
	if got, want := c.Registry.Environments(), []string{"dev", "ci", "prod"}; !cmp.Equal(got, want) {
		t.Errorf("environments %v, want %v", got, want)
	}
	e, ok := c.Registry.Entry("anthropic", "prod")
	if !ok {
		t.Fatal("anthropic.prod missing")
	}
	want := &Entry{
		Vendor: "anthropic", Env: "prod",
		Ref: Ref{Raw: "aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic/prod-AbCdEf#api_key", Scheme: "aws-sm",
			SecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic/prod-AbCdEf", Region: "us-east-1", JSONKey: "api_key"},
		Scope: []string{"llm:messages"}, MaxTTLSeconds: 300,
		Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), LastRotated: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC),
		ExpiryPolicy: "rotate-14d", Line: 55,
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("anthropic.prod (-want +got):\n%s", diff)
	}
	p := c.Policy
	if !p.NoLogging() || !p.NoPersistence() || p.AllowShortValues() {
		t.Errorf("flags %+v", p.Flags)
	}
	if d, ok := p.TTLCap("prod"); !ok || d != 300*time.Second {
		t.Errorf("TTLCap(prod) = %v, %v", d, ok)
	}
	if _, ok := p.TTLCap("staging"); ok {
		t.Error("TTLCap(staging) should not exist")
	}
	if got := p.Environments(); !cmp.Equal(got, []string{"ci", "dev", "local", "prod"}) {
		t.Errorf("policy environments %v", got)
	}
	if p.RequiredPrefix["anthropic"] != "sk-ant-" || p.RotationDays["prod"] != 14 || p.Backends.KV.NameTemplate != "{path}" {
		t.Errorf("policy %+v", p)
	}
}

func TestSchemasShippedAndEmbeddedAgree(t *testing.T) {
	t.Parallel()
	for name, file := range map[string]string{"registry": registrySchemaFile, "policy": policySchemaFile} {
		embedded, err := Schema(name)
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(embedded) != string(onDisk) {
			t.Errorf("%s: embedded schema differs from %s", name, file)
		}
	}
	if _, err := Schema("nope"); err == nil {
		t.Error("Schema(nope) should fail")
	}
	if _, err := compiled(); err != nil {
		t.Fatalf("schemas do not compile: %v", err)
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	okPol, err := os.ReadFile(fixtureDir + "ok-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	okReg, err := os.ReadFile(fixtureDir + "ok-registry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		reg, pol string // "" = the ok fixture
		want     Problems
	}{
		{"value in ref", "openai:\n  ci:\n    secret_ref: \"" + fakeKey + "\"\n    scope: [a]\n    max_ttl_seconds: 60\n", "",
			Problems{{File: "r.yaml", Line: 3, Column: 5, Field: "openai.ci.secret_ref"}}},
		{"all problems, not the first", "openai:\n  ci:\n    secret_ref: \"op://x\"\n    scope: []\n    max_ttl_seconds: 9000\n    extra: 1\n", "",
			Problems{
				{File: "r.yaml", Line: 3, Column: 5, Field: "openai.ci.secret_ref"},
				{File: "r.yaml", Line: 4, Column: 5, Field: "openai.ci.scope"},
				{File: "r.yaml", Line: 5, Column: 5, Field: "openai.ci.max_ttl_seconds"},
				{File: "r.yaml", Line: 6, Column: 5, Field: "openai.ci.extra"},
			}},
		{"crlf lines after comments", "# a comment\r\nopenai: # another\r\n  ci:\r\n    secret_ref: \"op://x\"\r\n    scope: [a]\r\n    max_ttl_seconds: 60\r\n", "",
			Problems{{File: "r.yaml", Line: 4, Column: 5, Field: "openai.ci.secret_ref"}}},
		{"multiple documents", "openai: {}\n---\nxai: {}\n", "", Problems{{File: "r.yaml", Line: 3, Column: 4}}},
		{"tag", "openai: !!str x\n", "", Problems{{File: "r.yaml", Line: 1, Column: 9, Field: "openai"}}},
		{"merge key", "base: &b {}\nopenai:\n  <<: *b\n", "", Problems{
			{File: "r.yaml", Line: 1, Column: 7, Field: "base"}, {File: "r.yaml", Line: 3, Column: 3, Field: "openai"}}},
		{"scalar root", "just text\n", "", Problems{{File: "r.yaml", Line: 1, Column: 1}}},
		{"control char", "openai:\n  ci:\x01\n", "", Problems{{File: "r.yaml", Line: 2, Column: 6}}},
		{"deep nesting yaml", "a: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", "", Problems{{File: "r.yaml", Line: 1, Column: 36}}},
		// Refused before parsing: the parser is quadratic in these depths.
		{"deep unclosed flow", "a: " + strings.Repeat("{a: [", MaxFileSize/6), "", Problems{{File: "r.yaml", Line: 1, Column: 84}}},
		{"deep inline sequences", "x: 1\n" + strings.Repeat("- ", MaxFileSize/3) + "x\n", "", Problems{{File: "r.yaml", Line: 2, Column: 65}}},
		{"too many keys in one mapping", func() string {
			var b strings.Builder
			for i := 0; i <= maxSiblings; i++ {
				fmt.Fprintf(&b, "v%d: {}\n", i)
			}
			return b.String()
		}(), "", Problems{{File: "r.yaml", Line: maxSiblings + 1, Column: 1}}},
		{"too many items in one flow list", "a: [" + strings.Repeat("x, ", maxSiblings+1) + "x]\n", "", Problems{{File: "r.yaml", Line: 1, Column: 3 + 3*(maxSiblings+1)}}},
		{"block scalars are text, not structure", "openai:\n  ci:\n    secret_ref: |\n      " + strings.Repeat("[", 40) + "\n" + strings.Repeat("      k: v,\n\n", maxSiblings+1) + "    scope: >-\n      {{{{\n    max_ttl_seconds: 60\n", "",
			Problems{{File: "r.yaml", Line: 3, Column: 5, Field: "openai.ci.secret_ref"}, {File: "r.yaml", Line: 3 + 2 + 2*(maxSiblings+1), Column: 5, Field: "openai.ci.scope"}}},
		{"brackets in quotes and comments do not count", "openai: # " + strings.Repeat("[", 40) + "\n  ci:\n    secret_ref: \"op://" + strings.Repeat("{", 40) + "\"\n    scope: ['" + strings.Repeat("[", 40) + "']\n    max_ttl_seconds: 60\n", "",
			Problems{{File: "r.yaml", Line: 3, Column: 5, Field: "openai.ci.secret_ref"}, {File: "r.yaml", Line: 4, Column: 13, Field: "openai.ci.scope[0]"}}},
		{"deep nesting json", "", `{"version":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, Problems{{File: "p.json", Line: 1, Column: 44, Field: "version" + strings.Repeat("[0]", 32)}}},
		{"trailing json", "", `{"version":1} {}`, Problems{{File: "p.json", Line: 1, Column: 15}}},
		{"required_prefix for unknown vendor", "", `{"version":1,"allowed_secrets":["openai","anthropic"],"required_prefix":{"mistral":"x-"},"flags":{"no_logging":true,"no_persistence":true},"ttl_caps_seconds":{"ci":900,"prod":300}}`,
			Problems{{File: "p.json", Line: 1, Column: 74, Field: "required_prefix.mistral"}}},
		{"bad ARN and kv path", "openai:\n  ci:\n    secret_ref: aws-sm://arn:aws:secretsmanager:nowhere:1:secret:x\n    scope: [a]\n    max_ttl_seconds: 60\n  dev:\n    secret_ref: kv://a/../b\n    scope: [a]\n    max_ttl_seconds: 60\n", "",
			Problems{{File: "r.yaml", Line: 3, Column: 5, Field: "openai.ci.secret_ref"}, {File: "r.yaml", Line: 7, Column: 5, Field: "openai.dev.secret_ref"}}},
		{"name template maps refs", "", `{"version":1,"allowed_secrets":["openai","anthropic"],"flags":{"no_logging":true,"no_persistence":true},"ttl_caps_seconds":{"ci":900,"prod":300},"backends":{"kv":{"type":"aws-secretsmanager","name_template":"` + strings.Repeat("x", 510) + `{path}"}}}`,
			Problems{{File: "r.yaml", Line: 4, Column: 5, Field: "openai.ci.secret_ref"}, {File: "r.yaml", Line: 12, Column: 5, Field: "openai.prod.secret_ref"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, pol := okReg, okPol
			if tt.reg != "" {
				reg = []byte(tt.reg)
			}
			if tt.pol != "" {
				pol = []byte(tt.pol)
			}
			c, err := Parse("r.yaml", reg, "p.json", pol)
			var ps Problems
			if !errors.As(err, &ps) || c != nil {
				t.Fatalf("Parse = %v, %v; want Problems", c, err)
			}
			got := make(Problems, len(ps))
			for i, p := range ps {
				if p.Msg == "" || !strings.Contains(p.Msg, ";") {
					t.Errorf("problem without a what-to-do: %+v", p)
				}
				p.Msg = ""
				got[i] = p
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nfull:\n%v", diff, err)
			}
			assertNoValue(t, fakeKey, err.Error())
		})
	}
}

func TestProblemsCapped(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&b, "v%d: 1\n", i)
	}
	_, err := Parse("r.yaml", []byte(b.String()), "p.json", []byte(`{"version":1,"allowed_secrets":["v"],"flags":{"no_logging":true,"no_persistence":true},"ttl_caps_seconds":{"ci":900}}`))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != maxProblems+1 || !strings.Contains(ps[maxProblems].Msg, "50 more problems not shown") {
		t.Fatalf("got %d problems, last %+v", len(ps), ps[len(ps)-1])
	}
}

func TestLoadBoundsSize(t *testing.T) {
	t.Parallel()
	big := make([]byte, MaxFileSize+1)
	for i := range big {
		big[i] = '#'
	}
	_, err := Parse("r.yaml", big, "p.json", []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "r.yaml: file is larger than the 1048576-byte limit") {
		t.Errorf("oversized data: %v", err)
	}
	// An endless device is refused after MaxFileSize+1 bytes, not read to the end.
	if _, statErr := os.Stat("/dev/zero"); statErr == nil {
		_, err := Load("/dev/zero", examplePolicy)
		if err == nil || !strings.Contains(err.Error(), "/dev/zero: file is larger than the 1048576-byte limit") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	tmpl := &Policy{Backends: Backends{KV: KVBackend{Type: "aws-secretsmanager", NameTemplate: "keylease/{path}"}}}
	tests := []struct {
		raw     string
		p       *Policy
		want    Ref
		wantErr string
	}{
		{raw: "kv://openai/ci/api_key", want: Ref{Raw: "kv://openai/ci/api_key", Scheme: "kv", SecretID: "openai/ci/api_key"}},
		{raw: "kv://openai/ci/api_key", p: tmpl, want: Ref{Raw: "kv://openai/ci/api_key", Scheme: "kv", SecretID: "keylease/openai/ci/api_key"}},
		{raw: "kv://openai/ci#key", want: Ref{Raw: "kv://openai/ci#key", Scheme: "kv", SecretID: "openai/ci", JSONKey: "key"}},
		{raw: "aws-sm://openai/prod", want: Ref{Raw: "aws-sm://openai/prod", Scheme: "aws-sm", SecretID: "openai/prod"}},
		{raw: "aws-sm://arn:aws:secretsmanager:eu-central-1:123456789012:secret:x/y-AbCdEf#k",
			want: Ref{Raw: "aws-sm://arn:aws:secretsmanager:eu-central-1:123456789012:secret:x/y-AbCdEf#k", Scheme: "aws-sm",
				SecretID: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:x/y-AbCdEf", Region: "eu-central-1", JSONKey: "k"}},
		{raw: "aws-sm://arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x",
			want: Ref{Raw: "aws-sm://arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x", Scheme: "aws-sm",
				SecretID: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x", Region: "us-gov-west-1"}},
		{raw: "gsm://vault/item", wantErr: `ref [as given, not shown]: has unsupported scheme "gsm"`},
		{raw: "op://vault/item", wantErr: "is not op://VAULT/ITEM/FIELD"},
		{raw: "Op\r::add-mask::x://vault/item", wantErr: `ref [as given, not shown]: has an unsupported scheme;`},
		{raw: "openai/ci/api_key", wantErr: `ref [as given, not shown]: has no scheme`},
		{raw: "kv://", wantErr: "has an empty path"},
		{raw: "kv:///a", wantErr: "empty path segment"},
		{raw: "kv://a b", wantErr: "characters a Secrets Manager name cannot hold"},
		{raw: "kv://a/#", wantErr: "invalid #json-key"},
		{raw: "aws-sm://arn:aws:secretsmanager:us-east-1:1234:secret:x", wantErr: "not a valid Secrets Manager ARN"},
		{raw: "aws-sm://" + strings.Repeat("a", 513), wantErr: "not a valid Secrets Manager name"},
		{raw: fakeKey, wantErr: "ref [looks like a secret value, not shown]: looks like a secret value (openai-project-key detector)"},
		{raw: "kv://openai/" + fakeKey, wantErr: "ref [looks like a secret value, not shown]"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRef(tt.raw, tt.p)
			if tt.wantErr != "" {
				var re *RefError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef(%q) error = %v, want *RefError containing %q", tt.raw, err, tt.wantErr)
				}
				assertNoValue(t, fakeKey, err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.String() != tt.raw {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	c := loadExample(t)
	c.Registry.index["xai"]["prod"].Revoked = true
	c.Policy.AllowedSecrets = []string{"openai", "anthropic"} // xai registered but no longer allowed
	tests := []struct {
		vendor, env string
		want        LeaseSpec
		wantReason  string
	}{
		{vendor: "openai", env: "ci", want: LeaseSpec{Vendor: "openai", Env: "ci",
			Ref:   Ref{Raw: "kv://openai/ci/api_key", Scheme: "kv", SecretID: "openai/ci/api_key"},
			Scope: []string{"llm:chat"}, TTL: 900 * time.Second, EnvVar: "OPENAI_API_KEY", RequiredPrefix: "sk-"}},
		{vendor: "anthropic", env: "dev", want: LeaseSpec{Vendor: "anthropic", Env: "dev",
			Ref:   Ref{Raw: "kv://anthropic/dev/api_key", Scheme: "kv", SecretID: "anthropic/dev/api_key"},
			Scope: []string{"llm:messages"}, TTL: time.Hour, EnvVar: "ANTHROPIC_API_KEY", RequiredPrefix: "sk-ant-"}},
		{vendor: "xai", env: "ci", wantReason: ReasonNotAllowed},
		{vendor: "mistral", env: "ci", wantReason: ReasonNotAllowed},
		{vendor: "openai", env: "local", wantReason: ReasonNoEntry},
	}
	for _, tt := range tests {
		t.Run(tt.vendor+"/"+tt.env, func(t *testing.T) {
			t.Parallel()
			got, err := c.Resolve(tt.vendor, tt.env)
			if tt.wantReason != "" {
				var re *RefusedError
				if !errors.As(err, &re) || re.Reason != tt.wantReason {
					t.Fatalf("Resolve = %v, want refusal %q", err, tt.wantReason)
				}
				if !strings.Contains(err.Error(), "; ") {
					t.Errorf("refusal without what to do: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveRevokedAndRef(t *testing.T) {
	t.Parallel()
	c, err := Load(fixtureDir+"ok-registry.yaml", fixtureDir+"ok-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve("openai", "prod"); err == nil || !strings.Contains(err.Error(), ReasonRevoked) {
		t.Errorf("revoked entry: %v", err)
	}
	tests := []struct {
		name, envVar, raw, env string
		want                   LeaseSpec
		wantReason, wantErr    string
	}{
		{name: "registered ref takes the entry", envVar: "MY_KEY", raw: "kv://openai/ci/api_key", env: "ci",
			want: LeaseSpec{Vendor: "openai", Env: "ci", Ref: Ref{Raw: "kv://openai/ci/api_key", Scheme: "kv", SecretID: "openai/ci/api_key"},
				Scope: []string{"llm:chat"}, TTL: 900 * time.Second, EnvVar: "MY_KEY", RequiredPrefix: "sk-"}},
		{name: "same secret by name matches an ARN entry", envVar: "K", raw: "aws-sm://anthropic/ci#api_key", env: "ci",
			want: LeaseSpec{Vendor: "anthropic", Env: "ci", Ref: Ref{Raw: "aws-sm://anthropic/ci#api_key", Scheme: "aws-sm", SecretID: "anthropic/ci", JSONKey: "api_key"},
				Scope: []string{"llm:messages"}, TTL: 600 * time.Second, EnvVar: "K", RequiredPrefix: "sk-ant-"}},
		{name: "unregistered ref gets the cap", envVar: "OTHER", raw: "aws-sm://other/thing", env: "prod",
			want: LeaseSpec{Env: "prod", Ref: Ref{Raw: "aws-sm://other/thing", Scheme: "aws-sm", SecretID: "other/thing"}, TTL: 300 * time.Second, EnvVar: "OTHER"}},
		{name: "revoked secret", envVar: "K", raw: "kv://openai/prod/api_key", env: "prod", wantReason: ReasonRevoked},
		{name: "other environment's secret", envVar: "K", raw: "kv://openai/ci/api_key", env: "prod", wantReason: ReasonOtherEnv},
		{name: "environment without cap", envVar: "K", raw: "kv://x/y", env: "staging", wantReason: ReasonNoCap},
		{name: "bad variable", envVar: "1X", raw: "kv://x/y", env: "ci", wantErr: `invalid environment variable name "1X"`},
		{name: "value as variable", envVar: fakeKey, raw: "kv://x/y", env: "ci", wantErr: "not shown"},
		{name: "value as ref", envVar: "K", raw: fakeKey, env: "ci", wantErr: "looks like a secret value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.ResolveRef(tt.envVar, tt.raw, tt.env)
			switch {
			case tt.wantReason != "":
				var re *RefusedError
				if !errors.As(err, &re) || re.Reason != tt.wantReason {
					t.Fatalf("ResolveRef = %v, want refusal %q", err, tt.wantReason)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveRef = %v, want %q", err, tt.wantErr)
				}
				assertNoValue(t, fakeKey, err.Error())
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestEnvVarFor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "xai": "XAI_API_KEY",
		"mistral": "MISTRAL_API_KEY", "together-ai": "TOGETHER_AI_API_KEY", "01ai": "_01AI_API_KEY",
		"a.b c": "A_B_C_API_KEY", "Grok_2": "GROK_2_API_KEY", "naïve": "NA_VE_API_KEY",
	} {
		if got := EnvVarFor(in); got != want {
			t.Errorf("EnvVarFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	ps := Problems{
		{File: "f.yaml", Line: 3, Column: 5, Field: "a.b", Msg: "bad; fix"},
		{File: "f.yaml", Line: 3, Field: "a", Msg: "m"},
		{File: "f.yaml", Msg: "empty; write"},
	}
	want := "f.yaml:3:5: a.b: bad; fix\nf.yaml:3: a: m\nf.yaml: empty; write"
	if got := ps.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestResolveNeverEchoesValueLikeNames: a key pasted as --vendor, --env or a
// vendor name with a workflow command in it is refused without the error
// repeating it (before the fix, RefusedError printed the vendor raw).
func TestResolveNeverEchoesValueLikeNames(t *testing.T) {
	t.Parallel()
	c := loadExample(t)
	awsLike := "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa"
	tests := []struct{ vendor, env, secret string }{
		{fakeKey, "ci", fakeKey},
		{"openai", fakeKey, fakeKey},
		{awsLike, "ci", awsLike},
		{"x\r::add-mask::y\n::warning::z", "ci", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(len(tt.vendor), len(tt.env)), func(t *testing.T) {
			t.Parallel()
			_, err := c.Resolve(tt.vendor, tt.env)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Resolve error = %v, want *RefusedError", err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("message holds a raw line break: %q", msg)
			}
			if tt.secret != "" {
				assertNoValue(t, tt.secret, msg)
				if !strings.Contains(msg, "not shown") {
					t.Errorf("message %q lacks the placeholder", msg)
				}
			}
		})
	}
}

// TestParseRefNeverQuotesInput: a ref that fails to parse is never quoted,
// whatever it holds (a value the detectors miss, a workflow command).
func TestParseRefNeverQuotesInput(t *testing.T) {
	t.Parallel()
	aws := "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa"
	for _, tt := range []struct{ raw, secret string }{
		{aws, aws},
		{"kv://openai/" + aws, aws},
		{"AWS_SECRET=" + aws, aws},
		{"correcthorsebatterystaple", "correcthorsebatterystaple"},
		{"hunter2-but-much-longer://x", "hunter2-but-much-longer"},
		{"vault\r::add-mask::x://a", "::add-mask::"},
		{"kv://a b\n::warning::x", "::warning::"},
	} {
		_, err := ParseRef(tt.raw, nil)
		if err == nil {
			t.Fatalf("ParseRef accepted a %d-byte non-ref", len(tt.raw))
		}
		msg := err.Error()
		if strings.Contains(msg, tt.secret) || strings.ContainsAny(msg, "\r\n") {
			t.Errorf("ParseRef error quotes its input: %q", msg)
		}
		if len(tt.secret) >= 20 {
			assertNoValue(t, tt.secret, msg)
		}
	}
}

func TestSplitRefArg(t *testing.T) {
	t.Parallel()
	for arg, want := range map[string][2]string{
		"OPENAI_API_KEY=kv://openai/ci/api_key": {"OPENAI_API_KEY", "kv://openai/ci/api_key"},
		"kv://openai/ci/api_key":                {"", "kv://openai/ci/api_key"},
		"kv://a/b/c?x=y":                        {"", "kv://a/b/c?x=y"},
		"=kv://openai/ci/api_key":               {"", "kv://openai/ci/api_key"},
	} {
		if n, r := SplitRefArg(arg); n != want[0] || r != want[1] {
			t.Errorf("SplitRefArg(%q) = %q, %q; want %q, %q", arg, n, r, want[0], want[1])
		}
	}
}
