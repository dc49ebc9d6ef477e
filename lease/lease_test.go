package lease

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/safetext"
	"github.com/keylease/keylease/secret"
)

const testKey = "sk-proj-LeaseUnitTest0123456789abcdefABCDEFxyz"

func noForm(t *testing.T, what string, b []byte) {
	t.Helper()
	leakcheck.Assert(t, what, b, testKey)
}

func TestChildEnv(t *testing.T) {
	t.Parallel()
	parent := []string{
		"PATH=/bin", "HOME=/home/u",
		"ACTIONS_ID_TOKEN_REQUEST_URL=https://x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=t", "ACTIONS_RUNTIME_TOKEN=r", "ACTIONS_RESULTS_URL=u",
		"AWS_ACCESS_KEY_ID=AKIA", "aws_secret_access_key=lower", "AWS_SESSION_TOKEN=s", "AWS_PROFILE=p", "AWS_REGION=eu-west-1",
		"OPENAI_API_KEY=from-a-github-secret", "KEYLEASE_EXPIRES_AT=forged",
		"GITHUB_ENV=/f/env", "GITHUB_OUTPUT=/f/out", "GITHUB_PATH=/f/path", "GITHUB_STATE=/f/state", "GITHUB_STEP_SUMMARY=/f/sum",
		"noequals",
	}
	// Every credential source README promises to strip, written out by hand
	// (not taken from env.go's list, so a name dropped there fails here).
	minting := []string{
		"ACTIONS_RUNTIME_URL", "ACTIONS_CACHE_URL", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_DEFAULT_PROFILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"Aws_Role_Arn", // Windows names are case-insensitive
	}
	for _, k := range minting {
		parent = append(parent, k+"=minting-"+k)
	}
	exp := time.Date(2026, 11, 28, 15, 0, 0, 0, time.FixedZone("x", 3600))
	leased := map[string]secret.Value{"OPENAI_API_KEY": secret.FromString(testKey)}
	tests := []struct {
		name          string
		noPersistence bool
		want          []string
		absent        []string
	}{
		{"no persistence", true,
			[]string{"PATH=/bin", "HOME=/home/u", "AWS_REGION=eu-west-1", "GITHUB_STEP_SUMMARY=/f/sum", "OPENAI_API_KEY=" + testKey, "KEYLEASE_EXPIRES_AT=2026-11-28T14:00:00Z"},
			[]string{"ACTIONS_", "AWS_ACCESS_KEY_ID", "aws_secret_access_key", "AWS_SESSION_TOKEN", "AWS_PROFILE", "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "from-a-github-secret", "forged", "noequals"}},
		{"persistence allowed", false,
			[]string{"GITHUB_ENV=/f/env", "GITHUB_OUTPUT=/f/out", "OPENAI_API_KEY=" + testKey},
			[]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "AWS_SESSION_TOKEN", "from-a-github-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := childEnv(parent, leased, exp, tt.noPersistence)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("child env lacks %q", strings.SplitN(w, "=", 2)[0])
				}
			}
			joined := strings.Join(got, "\n")
			for _, a := range append(tt.absent, "minting-") {
				if strings.Contains(joined, a) {
					t.Errorf("child env holds %q", a)
				}
			}
			if n := strings.Count(joined, "OPENAI_API_KEY="); n != 1 {
				t.Errorf("OPENAI_API_KEY appears %d times", n)
			}
		})
	}
}

func TestSetOutputsRandomDelimiter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": path}
	var cmds bytes.Buffer
	rn := newRunner(func(k string) string { return env[k] }, &cmds, &safetext.Guard{})
	// A value that tries to end a fixed delimiter and inject an output.
	if err := rn.setOutputs([][2]string{{"record-path", "/tmp/r\n_GitHubActionsFileCommandDelimeter_\nexit-code=0"}, {"exit-code", "3"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	_, d1, _ := strings.Cut(lines[0], "<<")
	if !strings.HasPrefix(d1, "ghadelimiter_") || len(d1) != len("ghadelimiter_")+32 {
		t.Fatalf("delimiter %q is not random", d1)
	}
	if strings.Count(string(b), d1) != 2 {
		t.Errorf("delimiter reused: %q", b)
	}
	if !strings.Contains(string(b), "exit-code<<ghadelimiter_") {
		t.Errorf("exit-code not in a heredoc: %q", b)
	}
}

func TestSummaryIsValueFreeAndEscaped(t *testing.T) {
	t.Parallel()
	rec := &record.Record{
		Leases: []record.Lease{{Ref: "kv://a|b`c", Vendor: "openai", Environment: "ci", EnvVar: "OPENAI_API_KEY", TTLSeconds: 900,
			ExpiresAt: time.Date(2026, 11, 28, 15, 15, 0, 0, time.UTC), VersionID: "v1", Outcome: record.OutcomeLeased}},
		Command:  &record.Command{ExitCode: 124, LeaseExpired: true, DurationMS: 900000},
		Identity: &record.Identity{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/app:ref:refs/heads/main", Audience: "sts.amazonaws.com"},
		Session: &record.Session{Source: "oidc", RoleARN: "arn:aws:iam::123456789012:role/ci", SessionName: "keylease-1-1",
			ExpiresAt: time.Date(2026, 11, 28, 15, 15, 0, 0, time.UTC)},
		Masking: record.Masking{Values: 1, Forms: 20, Redactions: 2},
	}
	s := Summary(safetext.Guard{}, rec, "/rt/keylease/r.json", nil)
	for _, want := range []string{"| `OPENAI_API_KEY` | openai | `kv://a\\|b'c` | ci | 900s | 2026-11-28T15:15:00Z | v1 | leased |", "exit code **124** (ended by the lease deadline)", "0 findings",
		"Identity `repo:acme/app:ref:refs/heads/main` (issuer `https://token.actions.githubusercontent.com`, audience `sts.amazonaws.com`) assumed `arn:aws:iam::123456789012:role/ci` as `keylease-1-1` until 2026-11-28T15:15:00Z."} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if s := Summary(safetext.Guard{}, rec, "", &record.LeakError{Findings: 1}); !strings.Contains(s, "Run record withheld") || strings.Contains(s, "0 findings") {
		t.Errorf("leak summary:\n%s", s)
	}
	noForm(t, "summary", []byte(s))
}

func TestFileGuard(t *testing.T) {
	t.Parallel()
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(testKey)); err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Set: set})
	scan := func(b []byte) int { return len(sc.Scan(b)) }
	tests := []struct {
		name     string
		appended string
		rolled   bool
	}{
		{"clean append kept", "FOO=bar\n", false},
		{"raw value rolled back", "LEAK=" + testKey + "\n", true},
		{"base64 rolled back", "LEAK=" + base64.StdEncoding.EncodeToString([]byte(testKey)) + "\n", true},
		{"nothing appended", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(path, []byte("PRE=1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			g := newFileGuard(func(k string) string {
				if k == "GITHUB_ENV" {
					return path
				}
				return ""
			})
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			_, _ = f.WriteString(tt.appended)
			_ = f.Close()
			rolled, err := g.check(scan)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			if tt.rolled {
				if !slices.Equal(rolled, []string{"GITHUB_ENV"}) || string(b) != "PRE=1\n" {
					t.Errorf("rolled %v, file %q", rolled, b)
				}
			} else if len(rolled) != 0 || string(b) != "PRE=1\n"+tt.appended {
				t.Errorf("rolled %v, file %q", rolled, b)
			}
			noForm(t, "file after check", b)
		})
	}
}

// TestDebugLinesEscapedOnce: go-githubactions escapes command data itself;
// escaping before it would show "%25" where the message had "%". A leased
// value in a debug message is still removed.
func TestDebugLinesEscapedOnce(t *testing.T) {
	t.Parallel()
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(testKey)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_DEBUG": "1"}
	rn := newRunner(func(k string) string { return env[k] }, &out, &safetext.Guard{Sanitize: set.Sanitize})
	rn.debugf("50%% fetched\nkey %s", testKey)
	if got, want := out.String(), "::debug::50%25 fetched%0Akey ***\n"; got != want {
		t.Errorf("debug line %q, want %q", got, want)
	}
	noForm(t, "the debug line", out.Bytes())
}

// TestReservedNames: no lease may go into keylease's deadline, a credential
// the child must not get, or a runner file command; ordinary names may.
func TestReservedNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"KEYLEASE_EXPIRES_AT", "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "github_env", "aws_session_token", "GITHUB_STEP_SUMMARY",
	} {
		if !reserved(name) {
			t.Errorf("%s is not reserved", name)
		}
	}
	for _, name := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_TOKEN", "GITHUB_TOKEN_FOR_TESTS"} {
		if reserved(name) {
			t.Errorf("%s is reserved", name)
		}
	}
}

// TestSummaryGuardsEveryText: a key pasted as a vendor (issue: it was written
// verbatim, and upper-cased as the variable), a server's VersionId that is a
// registered value (the STS session token) and markdown/HTML from a server
// reach the summary only as placeholders, *** and inert text.
func TestSummaryGuardsEveryText(t *testing.T) {
	t.Parallel()
	const pasted = "sk-proj-PastedVendor0123456789abcdefGHIJKLmnopqrSTUV0123"
	const token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token"
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(token)); err != nil {
		t.Fatal(err)
	}
	refused := record.Refused(&registry.RefusedError{Vendor: pasted, Env: "ci", Reason: registry.ReasonNotAllowed})
	rec := &record.Record{Leases: []record.Lease{refused,
		{Ref: "kv://openai/ci/api_key", Vendor: "openai", Environment: "ci", EnvVar: "OPENAI_API_KEY", VersionID: token, Outcome: record.OutcomeLeased},
		{Ref: "kv://x/ci/k", Vendor: "x", Environment: "ci", EnvVar: "X_API_KEY", VersionID: "<img src=x onerror=alert(1)>[click](https://evil.example)", Outcome: record.OutcomeLeased}}}
	s := Summary(safetext.Guard{Sanitize: set.Sanitize}, rec, "/rt/keylease/"+pasted+".json", nil)
	leakcheck.Assert(t, "summary", []byte(s), pasted, token, strings.ToUpper(strings.ReplaceAll(pasted, "-", "_")))
	for _, bad := range []string{"<img", "](", "https://evil"} {
		if strings.Contains(s, bad) {
			t.Errorf("summary renders %q from a server string:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "[not shown: looks like a key") || !strings.Contains(s, `\*\*\*`) {
		t.Errorf("summary shows no placeholder or ***; the test shows nothing:\n%s", s)
	}
}
