package safetext

import (
	"strconv"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

const key = "sk-proj-SafeTextTest0123456789abcdefGHIJKLmnopqrSTuvwx0123"

func TestTextReplacesValueShapedTokens(t *testing.T) {
	t.Parallel()
	g := Guard{}
	for _, in := range []string{
		key,
		"registry file configs/" + key + ".yaml: no such file",
		"| `OPENAI_API_KEY` | " + key + " | `kv://x` |",
		"--vendor " + strconv.Quote("a\n"+key),                          // quoted: \n glued to the key
		strings.ToUpper(strings.ReplaceAll(key, "-", "_")) + "_API_KEY", // a key used as a vendor name, as its variable
		"lstat " + key + ": no such file or directory",
	} {
		out := g.Text(in)
		if !strings.Contains(out, "[not shown: looks like a key (") {
			t.Errorf("no placeholder in %q", out)
		}
		leakcheck.Assert(t, "Text", []byte(out), key, strings.ToUpper(strings.ReplaceAll(key, "-", "_")))
	}
}

func TestTextKeepsPlainText(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"arn:aws:iam::123456789012:role/keylease-ci",
		"/tmp/runner-temp/keylease/keylease-record-1733000000-1-a1b2c3d4.json",
		"| `OPENAI_API_KEY` | openai | `kv://openai/ci/api_key` | ci | 300s |",
		"3f2a9c1e-7b4d-4e8a-9f1c-2d3e4f5a6b7c",
		"lease of anthropic in ci refused: not in allowed_secrets; add anthropic to allowed_secrets in /w/configs/secrets-policy.json",
		"[the --vendor value, not shown: it looks like a key (openai-key detector)]",
		"",
	} {
		if out := (Guard{}).Text(in); out != in {
			t.Errorf("Text(%q) = %q, want it unchanged", in, out)
		}
	}
}

func TestTextSanitizesRegisteredForms(t *testing.T) {
	t.Parallel()
	const v = "not-a-vendor-shape value 42"
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(v)); err != nil {
		t.Fatal(err)
	}
	out := Guard{Sanitize: set.Sanitize}.Line("version " + v + "\n::warning::x")
	leakcheck.Assert(t, "Line", []byte(out), v)
	if strings.ContainsAny(out, "\r\n") {
		t.Errorf("Line kept a line break: %q", out)
	}
}

func TestPathsAreNotAWSSecrets(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		"/tmp/TestCheckGenerated10_MB_policy2795432011/001/huge.json",
		"/home/runner/work/keylease/keylease/configs/secrets-policy.json",
	} {
		if out := (Guard{}).Text(p); out != p {
			t.Errorf("Text(%q) = %q", p, out)
		}
	}
	if out := (Guard{}).Text("/w/configs/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12/x.json"); out == "/w/configs/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12/x.json" {
		t.Errorf("an AWS secret as a path component was kept")
	}
}

// TestAWSSecretWithSlash: about half of AWS secret access keys hold a '/';
// such a key, given whole or as NAME=/key: value, is still replaced.
func TestAWSSecretWithSlash(t *testing.T) {
	t.Parallel()
	const aws = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKQ" // #nosec G101 -- AWS's documented example, altered
	for _, in := range []string{
		aws,
		"AWS_SECRET_ACCESS_KEY=" + aws,
		"lstat " + aws + ": no such file or directory",
		"secret: " + aws,
	} {
		out := Guard{}.Text(in)
		if !strings.Contains(out, "[not shown: looks like a key (") {
			t.Errorf("no placeholder in %q", out)
		}
		leakcheck.Assert(t, "Text", []byte(out), aws)
	}
}
