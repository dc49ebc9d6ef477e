package lease

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

var versionIDField = regexp.MustCompile(`"VersionId":\s*"[^"]*"`)

// hostileSM is Secrets Manager behind a proxy that answers every VersionId
// with version(the request's session token): a server echoing a credential
// keylease holds, or sending markup.
func hostileSM(t *testing.T, target string, version func(sessionToken string) string) (proxyURL string, tokens func() []string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		tok := r.Request.Header.Get("X-Amz-Security-Token")
		mu.Lock()
		seen = append(seen, tok)
		mu.Unlock()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		v, _ := json.Marshal(version(tok))
		b = versionIDField.ReplaceAll(b, append([]byte(`"VersionId":`), v...))
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// TestSummaryOfAHostileVersionID: a Secrets Manager VersionId equal to the
// STS session token reached GITHUB_STEP_SUMMARY verbatim although the record
// was withheld (exit 4); markup in a VersionId was rendered. The summary now
// passes the lease's guard and escapes every text.
func TestSummaryOfAHostileVersionID(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		version func(string) string
		absent  []string // texts the summary must not render
	}{
		"the session token": {func(tok string) string { return tok }, nil},
		"markup":            {func(string) string { return `<img src=x onerror=alert(1)>[x](https://evil.example)` }, []string{"<img", "](", "https://evil"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			const key = "sk-proj-HostileVersion0123456789abcdefGHIJKLmnopq"
			l := testkit.Fixture{Vendor: "openai", Env: "ci", MaxTTL: 300}.Start(t, key)
			vars, dir := l.Vars, l.Dir
			smURL, tokens := hostileSM(t, vars["AWS_ENDPOINT_URL_SECRETS_MANAGER"], tc.version)
			vars["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = smURL
			summary, outputs := filepath.Join(dir, "summary"), filepath.Join(dir, "output")
			testkit.WriteFile(t, summary, "")
			testkit.WriteFile(t, outputs, "")
			for k, v := range map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": outputs,
				"RUNNER_TEMP": dir, "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none")} {
				vars[k] = v
			}
			var out, errb, cmds bytes.Buffer
			res, err := Run(ctx, oidcOptions(l, os.Args[0], "-test.run=^$"),
				IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Commands: &cmds,
					Getenv: testkit.Getenv(vars), Environ: testkit.Environ(nil)})
			toks := tokens()
			if len(toks) == 0 || toks[0] == "" {
				t.Fatalf("Secrets Manager saw no session token (res %+v, err %v); the test shows nothing", res, err)
			}
			sb, rerr := os.ReadFile(summary)
			if rerr != nil || !bytes.Contains(sb, []byte("### keylease")) {
				t.Fatalf("no summary (%v): %q", rerr, sb)
			}
			secrets := []string{key}
			secrets = append(secrets, toks...)
			ob, _ := os.ReadFile(outputs)
			for what, b := range map[string][]byte{"summary": sb, "stdout": out.Bytes(), "stderr": errb.Bytes(), "outputs": ob, "error": []byte(errText(err))} {
				leakcheck.Assert(t, what, b, secrets...)
			}
			for _, bad := range tc.absent {
				if bytes.Contains(sb, []byte(bad)) {
					t.Errorf("summary renders %q:\n%s", bad, sb)
				}
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
