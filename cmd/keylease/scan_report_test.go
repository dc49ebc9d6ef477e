package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// vendorKeys are one fake key of each leased vendor, at their real lengths.
func vendorKeys(t *testing.T) map[string]string {
	t.Helper()
	mk := func(prefix string, n int, suffix string) string {
		k, err := fakeKey(prefix, n)
		testkit.Must(t, err)
		return k + suffix
	}
	return map[string]string{
		"openai-project-key": mk("sk-proj-", 156, ""),
		"anthropic-api-key":  mk("sk-ant-api03-", 93, "AA"),
		"xai-api-key":        mk("xai-", 80, ""),
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		testkit.Must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o700))
		testkit.Must(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600))
	}
}

// runScanIn runs keylease scan with the working directory's files out of
// the way (no .keyleaseignore, no policy) and returns exit code and streams.
func runScanIn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	e, out, errb := testEnv(nil)
	args = append([]string{"scan", "--ignore-file", filepath.Join(t.TempDir(), "none"), "--policy", "../../configs/secrets-policy.json"}, args...)
	code := realMain(context.Background(), args, e)
	return code, out.String(), errb.String()
}

type jsonFinding struct {
	Commit, Path, Rule string
	Line, Column       int
}

func decodeJSONReport(t *testing.T, s string) (schema string, fs []jsonFinding, suppressed int) {
	t.Helper()
	var r struct {
		Schema     string        `json:"schema"`
		Findings   []jsonFinding `json:"findings"`
		Suppressed int           `json:"suppressed"`
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("json report does not decode: %v", err)
	}
	return r.Schema, r.Findings, r.Suppressed
}

// sarifSchema compiles the SARIF 2.1.0 schema (OASIS) from
// KEYLEASE_SARIF_SCHEMA, or skips the schema check when it is not there.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	p := os.Getenv("KEYLEASE_SARIF_SCHEMA")
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KEYLEASE_SARIF_SCHEMA not set under CI: .ci/run fetches the SARIF 2.1.0 schema and names it there")
		}
		t.Log("KEYLEASE_SARIF_SCHEMA not set: SARIF checked for its shape only, not against the OASIS schema (bash .ci/run sets it)")
		return nil
	}
	f, err := os.Open(p) //nolint:gosec // the test's own input
	testkit.Must(t, err)
	defer func() { _ = f.Close() }()
	doc, err := jsonschema.UnmarshalJSON(f)
	testkit.Must(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat() // uri-reference and the rest are checked too
	testkit.Must(t, c.AddResource("sarif-2.1.0.json", doc))
	s, err := c.Compile("sarif-2.1.0.json")
	testkit.Must(t, err)
	return s
}

func TestScanFormats(t *testing.T) {
	t.Parallel()
	keys := vendorKeys(t)
	dir := t.TempDir()
	files := map[string]string{"clean.go": "package x\n"}
	i := 0
	for id, k := range keys {
		// The key on line 3, after a multi-byte rune: column counts code points.
		files[fmt.Sprintf("d%d/%s.env", i, id)] = "# é\nA=1\nKEY=\"é" + k + "\"\n"
		i++
	}
	writeTree(t, dir, files)
	schema := sarifSchema(t)
	for _, format := range []string{"text", "json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			code, out, errb := runScanIn(t, "--format", format, dir)
			if code != exitLeak {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitLeak, errb)
			}
			leakcheck.Assert(t, format+" stdout", []byte(out), values(keys)...)
			leakcheck.Assert(t, format+" stderr", []byte(errb), values(keys)...)
			switch format {
			case "text":
				for id := range keys {
					if !strings.Contains(out, id+".env:3:7: credential found by detector "+id) {
						t.Errorf("text lacks %s at 3:7: %q", id, out)
					}
				}
			case "json":
				sch, fs, _ := decodeJSONReport(t, out)
				if sch != "keylease.scan/v1" || len(fs) != len(keys) {
					t.Fatalf("schema %q, %d findings, want keylease.scan/v1 and %d", sch, len(fs), len(keys))
				}
				for _, f := range fs {
					if f.Line != 3 || f.Column != 7 || !strings.HasSuffix(f.Path, f.Rule+".env") {
						t.Errorf("finding %+v, want its own file at 3:7", f)
					}
				}
			case "sarif":
				var log map[string]any
				testkit.Must(t, json.Unmarshal([]byte(out), &log))
				if schema != nil {
					if err := schema.Validate(log); err != nil {
						t.Fatalf("SARIF does not validate against 2.1.0: %v", err)
					}
					// The check has teeth: a line 0 region is invalid SARIF.
					var broken map[string]any
					testkit.Must(t, json.Unmarshal([]byte(strings.Replace(out, `"startLine": 3`, `"startLine": 0`, 1)), &broken))
					if schema.Validate(broken) == nil {
						t.Fatal("the schema accepted startLine 0")
					}
				}
				var l struct {
					Version string `json:"version"`
					Runs    []struct {
						Tool struct {
							Driver struct {
								Rules []struct {
									ID   string `json:"id"`
									Help struct{ Text string }
								} `json:"rules"`
							} `json:"driver"`
						} `json:"tool"`
						Results []struct {
							RuleID              string            `json:"ruleId"`
							PartialFingerprints map[string]string `json:"partialFingerprints"`
							Locations           []struct {
								PhysicalLocation struct {
									Region struct{ StartLine, StartColumn int }
								}
							}
						}
					}
				}
				testkit.Must(t, json.Unmarshal([]byte(out), &l))
				if l.Version != "2.1.0" || len(l.Runs) != 1 || len(l.Runs[0].Results) != len(keys) {
					t.Fatalf("sarif version %q, runs %d", l.Version, len(l.Runs))
				}
				rules := map[string]bool{}
				for _, r := range l.Runs[0].Tool.Driver.Rules {
					if r.Help.Text == "" {
						t.Errorf("rule %s has no help", r.ID)
					}
					rules[r.ID] = true
				}
				for id := range keys {
					if !rules[id] {
						t.Errorf("no rule %s", id)
					}
				}
				for _, r := range l.Runs[0].Results {
					reg := r.Locations[0].PhysicalLocation.Region
					if reg.StartLine != 3 || reg.StartColumn != 7 || len(r.PartialFingerprints["keyleaseLocation/v1"]) != 64 {
						t.Errorf("result %+v", r)
					}
				}
			}
		})
	}
}

// TestScanBaseline: a JSON or SARIF report of a first scan suppresses
// exactly its findings (by place and detector); a new key still fails, and
// the same key at a new place is new.
func TestScanBaseline(t *testing.T) {
	t.Parallel()
	keys := vendorKeys(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "k=" + keys["openai-project-key"] + "\n"})
	for _, format := range []string{"json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			code, first, _ := runScanIn(t, "--format", format, dir)
			if code != exitLeak {
				t.Fatalf("first scan exit %d", code)
			}
			base := filepath.Join(t.TempDir(), "baseline."+format)
			testkit.Must(t, os.WriteFile(base, []byte(first), 0o600))

			code, out, errb := runScanIn(t, "--baseline", base, dir)
			if code != exitOK || !strings.Contains(out, "no findings, 1 suppressed by the baseline") {
				t.Fatalf("known finding: exit %d, out %q err %q", code, out, errb)
			}
			sub := t.TempDir()
			writeTree(t, sub, map[string]string{"a.txt": "k=" + keys["openai-project-key"] + "\n"})
			other := filepath.Join(sub, "a.txt")
			code, out, _ = runScanIn(t, "--format", "json", "--baseline", base, dir, other)
			_, fs, suppressed := decodeJSONReport(t, out)
			if code != exitLeak || suppressed != 1 || len(fs) != 1 || fs[0].Path != other {
				t.Fatalf("same key elsewhere: exit %d, suppressed %d, findings %+v", code, suppressed, fs)
			}
			leakcheck.Assert(t, "baseline file", []byte(first), values(keys)...)
			leakcheck.Assert(t, "report", []byte(out), values(keys)...)
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	testkit.Must(t, os.WriteFile(bad, []byte(`{"schema":"other/v9"}`), 0o600))
	if code, _, errb := runScanIn(t, "--baseline", bad, dir); code != exitConfig || !strings.Contains(errb, "--baseline") {
		t.Errorf("bad baseline: exit %d, stderr %q", code, errb)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestScanGit: a key committed and then deleted is found by --git at the
// commit that added it; a blob at two paths is reported once.
func TestScanGit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	keys := vendorKeys(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	writeTree(t, dir, map[string]string{"README": "hi\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "one")
	writeTree(t, dir, map[string]string{"conf/app.env": "A=1\nXAI=" + keys["xai-api-key"] + "\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "oops")
	added := git(t, dir, "rev-parse", "HEAD")
	writeTree(t, dir, map[string]string{"copy/app.env": "A=1\nXAI=" + keys["xai-api-key"] + "\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "copy")
	git(t, dir, "rm", "-q", "conf/app.env", "copy/app.env")
	git(t, dir, "commit", "-qm", "remove")

	if code, out, _ := runScanIn(t, dir); code != exitOK {
		t.Fatalf("work tree scan: exit %d: %q", code, out)
	}
	code, out, errb := runScanIn(t, "--git", "--format", "json", dir)
	if code != exitLeak {
		t.Fatalf("--git exit %d, stderr %q", code, errb)
	}
	_, fs, _ := decodeJSONReport(t, out)
	if len(fs) != 1 || fs[0].Commit != added || fs[0].Path != "conf/app.env" || fs[0].Line != 2 || fs[0].Rule != "xai-api-key" {
		t.Fatalf("findings %+v, want one xai-api-key at %s:conf/app.env:2", fs, added)
	}
	code, text, _ := runScanIn(t, "--git", dir)
	if code != exitLeak || !strings.Contains(text, added+":conf/app.env:2:5:") {
		t.Errorf("text %q lacks commit:path:line:col", text)
	}
	leakcheck.Assert(t, "git report", []byte(out+text+errb), values(keys)...)
	if code, _, _ := runScanIn(t, "--git", "--exclude", "conf/", dir); code != exitOK {
		t.Errorf("--exclude conf/ still fails: %d", code)
	}
}

func zipOf(t *testing.T, entries map[string]string, extra int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for name, c := range entries {
		f, err := w.Create(name)
		testkit.Must(t, err)
		_, err = f.Write([]byte(c))
		testkit.Must(t, err)
	}
	for i := range extra {
		_, err := w.Create(fmt.Sprintf("empty/%d", i))
		testkit.Must(t, err)
	}
	testkit.Must(t, w.Close())
	return b.Bytes()
}

// TestScanZip: a downloaded log archive is read in memory and findings name
// archive!entry:line; an archive past the entry cap is refused, not skipped.
func TestScanZip(t *testing.T) {
	t.Parallel()
	keys := vendorKeys(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"logs.zip": string(zipOf(t, map[string]string{"build/2_test.txt": "ok\nANTHROPIC=" + keys["anthropic-api-key"] + "\n", "clean.txt": "x"}, 0)),
	})
	code, out, errb := runScanIn(t, dir)
	if code != exitLeak || !strings.Contains(out, `logs.zip!build/2_test.txt":2:11: credential found by detector anthropic-api-key`) {
		t.Fatalf("exit %d, out %q, err %q", code, out, errb)
	}
	leakcheck.Assert(t, "zip report", []byte(out+errb), values(keys)...)

	bomb := t.TempDir()
	writeTree(t, bomb, map[string]string{"many.zip": string(zipOf(t, nil, 10001))})
	code, _, errb = runScanIn(t, bomb)
	if code != exitLeak || !strings.Contains(errb, "zip bomb") {
		t.Fatalf("bomb: exit %d, stderr %q", code, errb)
	}
}

// TestScanExcludes: --exclude and a .keyleaseignore file skip paths
// (gitignore rules: globs, directories, negation).
func TestScanExcludes(t *testing.T) {
	t.Parallel()
	keys := vendorKeys(t)
	dir := t.TempDir()
	k := keys["openai-project-key"]
	writeTree(t, dir, map[string]string{"a_test.go": k, "testdata/x.golden": k, "testdata/keep.txt": k, "src/main.go": "ok"})
	ign := filepath.Join(t.TempDir(), "ignore")
	testkit.Must(t, os.WriteFile(ign, []byte("# fakes on purpose\n*_test.go\ntestdata/\n"), 0o600))
	e, out, errb := testEnv(nil)
	if code := realMain(context.Background(), []string{"scan", "--ignore-file", ign, dir}, e); code != exitOK {
		t.Fatalf("ignore file: exit %d, out %q err %q", code, out, errb)
	}
	code, out2, _ := runScanIn(t, "--exclude", "*_test.go", dir)
	if code != exitLeak || strings.Contains(out2, "a_test.go") || !strings.Contains(out2, "keep.txt") {
		t.Fatalf("--exclude: exit %d, out %q", code, out2)
	}
	leakcheck.Assert(t, "exclude output", []byte(out.String()+errb.String()+out2), k)
}

// TestCheckWorkflowSARIF: check --format sarif reports every workflow rule
// with file, line and column, validates as SARIF 2.1.0, and holds no form
// of the fixtures' fake keys; the text form names FILE:LINE:COL and, under
// Actions, one ::error per problem.
func TestCheckWorkflowSARIF(t *testing.T) {
	t.Parallel()
	const wf = "../../testdata/workflows/"
	args := []string{"check", "--registry", fixtures + "ok-registry.yaml", "--policy", fixtures + "ok-policy.json", "--format", "sarif",
		wf + "exposed.yml", wf + "unpinned.yml", wf + "prt.yml", wf + "idtoken.yml", wf + "revoked.yml", wf + "clean.yml", fixtures + "workflow-bad.yml"}
	e, out, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true"})
	if code := realMain(context.Background(), args, e); code != exitConfig {
		t.Fatalf("exit %d; stderr %q", code, errb)
	}
	sarif := out.String()
	var log map[string]any
	testkit.Must(t, json.Unmarshal([]byte(sarif), &log))
	if s := sarifSchema(t); s != nil {
		if err := s.Validate(log); err != nil {
			t.Fatalf("check SARIF does not validate: %v", err)
		}
	}
	for _, rule := range []string{"secret-exposed-to-steps", "revoked-ref-in-workflow", "keylease-action-unpinned", "keylease-under-pull-request-target", "keylease-without-id-token-write", "secret-value-in-workflow"} {
		if !strings.Contains(sarif, `"ruleId": "`+rule+`"`) {
			t.Errorf("SARIF has no result for %s", rule)
		}
	}
	for _, want := range []string{"exposed.yml:19:11: jobs.eval.steps[1].env.XAI_API_KEY: secret XAI_API_KEY reaches this step", "prt.yml:6:3: jobs.lease:"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if !strings.Contains(errb.String(), "::error file=../../testdata/workflows/unpinned.yml,line=9,col=9,title=keylease check::") {
		t.Errorf("no ::error annotation for unpinned.yml:9:9")
	}
	if strings.Contains(sarif, "clean.yml") {
		t.Errorf("clean.yml has findings")
	}
	assertNoSecret(t, out.String(), errb.String())
}

// TestCheckCleanSARIF: with no problems, stdout is still one SARIF log
// (no results) and the ok line goes to stderr.
func TestCheckCleanSARIF(t *testing.T) {
	t.Parallel()
	e, out, errb := testEnv(nil)
	args := []string{"check", "--registry", fixtures + "ok-registry.yaml", "--policy", fixtures + "ok-policy.json", "--format", "sarif", "../../testdata/workflows/clean.yml"}
	if code := realMain(context.Background(), args, e); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, errb)
	}
	var l struct {
		Runs []struct {
			Results []any `json:"results"`
		} `json:"runs"`
	}
	testkit.Must(t, json.Unmarshal(out.Bytes(), &l))
	if len(l.Runs) != 1 || len(l.Runs[0].Results) != 0 || !strings.HasPrefix(errb.String(), "ok: ") {
		t.Fatalf("runs %+v, stderr %q", l.Runs, errb)
	}
}

// TestScanParallelDeterministic: the report is the same whatever the
// number of file workers (150 files: workers take them 64 at a time, so
// full batches and a partial one).
func TestScanParallelDeterministic(t *testing.T) {
	t.Parallel()
	keys := vendorKeys(t)
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 150 {
		files[fmt.Sprintf("d%d/f%d.log", i%7, i)] = strings.Repeat("noise line\n", i) + "K=" + keys["xai-api-key"] + "\n"
	}
	writeTree(t, dir, files)
	_, one, _ := runScanIn(t, "--jobs", "1", "--format", "json", dir)
	_, fs, n := decodeJSONReport(t, one)
	if len(fs) != 150 || n != 0 {
		t.Fatalf("%d findings, want 150", len(fs))
	}
	for _, jobs := range []string{"2", "8"} {
		if _, out, _ := runScanIn(t, "--jobs", jobs, "--format", "json", dir); out != one {
			t.Errorf("--jobs %s report differs from --jobs 1", jobs)
		}
	}
	leakcheck.Assert(t, "report", []byte(one), values(keys)...)
}
