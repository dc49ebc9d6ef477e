// Command scantree builds the tree the README's `keylease scan` figures are
// measured on: about 150 MB of real Go module source, copied from pinned
// module versions in the module cache (downloaded with `go mod download`
// when missing), with five fake vendor keys planted in ordinary files.
//
//	go run ./internal/tools/scantree -out /tmp/scantree
//	keylease scan --format json /tmp/scantree | go run ./internal/tools/scantree -verify /tmp/scantree
//
// The same module versions, file order and key templates give the same
// tree byte for byte on any machine. The planted keys are expanded from
// detecttest templates: vendor-shaped, authenticating nowhere, and no
// key-shaped literal is in this source. -verify reads a JSON report and
// checks every planted key is in it, then counts the other findings per
// 10 MB of tree.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keylease/keylease/detect/detecttest"
)

// modules are copied in this order until the budget is spent. Ordinary
// source: tools, networking, RPC, linters, SDKs, parsers; no secret
// scanner's own rule fixtures.
var modules = []string{
	"golang.org/x/tools@v0.52.0",
	"golang.org/x/net@v0.61.0",
	"golang.org/x/sys@v0.50.0",
	"golang.org/x/crypto@v0.58.0",
	"google.golang.org/grpc@v1.83.2",
	"google.golang.org/protobuf@v1.36.12",
	"github.com/golangci/golangci-lint/v2@v2.15.0",
	"honnef.co/go/tools@v0.8.2",
	"github.com/aws/aws-sdk-go-v2@v1.48.0",
	"github.com/aws/smithy-go@v1.28.9",
	"github.com/google/go-github/v60@v60.0.0",
	"github.com/rhysd/actionlint@v1.7.12",
	"github.com/goccy/go-yaml@v1.19.2",
	"github.com/go-git/go-git/v5@v5.19.2",
	"github.com/securego/gosec/v2@v2.29.0",
	"github.com/mgechev/revive@v1.17.1",
	"github.com/go-critic/go-critic@v0.15.0",
	"golang.org/x/vuln@v1.9.0",
	"golang.org/x/telemetry@v0.0.0-20261010193011-f71dc92da45e",
	"github.com/alecthomas/chroma/v2@v2.27.0",
	"go.opentelemetry.io/otel@v1.47.0",
	"google.golang.org/genproto@v0.0.0-20260319201613-d00831a3d3e7",
}

// planted are the keys: the rule a scan must report and the line planted.
var planted = []struct{ rule, line string }{
	{"openai-project-key", `const defaultAPIKey = "sk-proj-{74:key}T3BlbkFJ{74:key}"`},
	{"anthropic-api-key", `var anthropicKey = "sk-ant-api03-{93:key}AA"`},
	{"xai-api-key", `const xaiToken = "xai-{80:alnum}"`},
	{"aws-access-key-id", `var awsAccessKeyID = "AKIA{16:b32}"`},
	{"github-token", `const githubToken = "ghp_{36:alnum}"`},
}

func main() {
	out := flag.String("out", "/tmp/scantree", "`dir` to create (must not exist)")
	budget := flag.Int64("bytes", 150_000_000, "bytes of module source to copy")
	verify := flag.String("verify", "", "check the JSON report on stdin against the tree at `dir`")
	flag.Parse()
	var err error
	if *verify != "" {
		err = check(*verify)
	} else {
		err = build(*out, *budget)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scantree:", err)
		os.Exit(1)
	}
}

func build(out string, budget int64) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists; remove it first, the tree is built whole", out)
	}
	var total int64
	var files int
	var goFiles []string
	for _, m := range modules {
		if total >= budget {
			break
		}
		dir, err := moduleDir(m)
		if err != nil {
			return err
		}
		dst := filepath.Join(out, strings.ReplaceAll(m, "@", "_"))
		// WalkDir visits in lexical order: the tree is the same everywhere.
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || total >= budget {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path) //nolint:gosec // G304: the module cache
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			to := filepath.Join(dst, rel)
			if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
				return err
			}
			if err := os.WriteFile(to, b, 0o600); err != nil { //nolint:gosec // G703: a path under -out, from the module cache
				return err
			}
			total += int64(len(b))
			files++
			if strings.HasSuffix(to, ".go") && !strings.HasSuffix(to, "_test.go") && !strings.Contains(to, "/testdata/") {
				goFiles = append(goFiles, to)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("copy %s: %w", m, err)
		}
	}
	// Spread the keys over the tree, one per ordinary (non-test) Go file.
	for k, p := range planted {
		path := goFiles[(k+1)*len(goFiles)/(len(planted)+1)]
		b, err := os.ReadFile(path) //nolint:gosec // G304: the tree just written
		if err != nil {
			return err
		}
		line := bytes.Count(b, []byte("\n")) + 2
		b = append(b, "\n"+detecttest.Expand(p.line)+"\n"...)
		if err := os.WriteFile(path, b, 0o600); err != nil { //nolint:gosec // G703: a file of the tree just written
			return err
		}
		total += int64(len(p.line))
		fmt.Printf("%s:%d %s\n", path, line, p.rule)
	}
	fmt.Printf("%d files, %d bytes in %s\n", files, total, out)
	return nil
}

// moduleDir returns where module@version is in the module cache,
// downloading it first when it is not there.
func moduleDir(m string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", m) //nolint:gosec // G204: a pinned module
	cmd.Dir = os.TempDir()                                   // outside any module: no go.mod is changed
	b, err := cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(b, &info)
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w %s", m, err, info.Error)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in its answer %s", m, info.Error)
	}
	return info.Dir, nil
}

// check reads a keylease scan JSON report on stdin and reports the
// planted keys it misses and how many other findings it holds.
func check(tree string) error {
	var rep struct {
		Findings []struct {
			Path string `json:"path"`
			Line int    `json:"line"`
			Rule string `json:"rule"`
		} `json:"findings"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&rep); err != nil {
		return fmt.Errorf("stdin: not a keylease scan JSON report: %w", err)
	}
	var size int64
	want := map[string]string{} // "file:line" -> rule, for lines that are planted
	err := filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path) //nolint:gosec // G304: the tree to check
		if err != nil {
			return err
		}
		size += int64(len(b))
		for k, p := range planted {
			if i := bytes.Index(b, []byte(detecttest.Expand(p.line))); i >= 0 {
				want[fmt.Sprintf("%s:%d", path, bytes.Count(b[:i], []byte("\n"))+1)] = planted[k].rule
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(want) != len(planted) {
		return fmt.Errorf("%s holds %d of the %d planted keys: rebuild it", tree, len(want), len(planted))
	}
	var others []string
	for _, f := range rep.Findings {
		at := fmt.Sprintf("%s:%d", f.Path, f.Line)
		if want[at] == f.Rule {
			delete(want, at)
			continue
		}
		others = append(others, at+" "+f.Rule)
	}
	slices.Sort(others)
	for _, o := range others {
		fmt.Println("other:", o)
	}
	fmt.Printf("%d planted keys found, %d missed; %d other findings in %d bytes (%.2f per 10 MB)\n",
		len(planted)-len(want), len(want), len(others), size, float64(len(others))/(float64(size)/10e6))
	if len(want) > 0 {
		return errors.New("planted keys missed")
	}
	return nil
}
