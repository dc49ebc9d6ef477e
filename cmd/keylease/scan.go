package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
)

func init() {
	register(&command{name: "scan", summary: "scan a run record or files for vendor keys and fingerprinted values", run: runScan})
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// loadFingerprints reads SL8's ops-only list: one "<sha256 hex> <ref>" per
// line, '#' comments. The file holds digests, never values.
func loadFingerprints(path string) (map[string]string, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, usageError("--fingerprints %s: %v", shownPath(path), err)
	}
	fps := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, ref, _ := strings.Cut(line, " ")
		sum = strings.ToLower(sum)
		if !sha256Hex.MatchString(sum) {
			return nil, usageError("--fingerprints %s line %d: want '<sha256 hex> <ref>' (64 hex digits first)", shownPath(path), n)
		}
		fps[sum] = strings.TrimSpace(ref)
	}
	return fps, nil
}

func runScan(_ context.Context, args []string, e *env) error {
	fset := flag.NewFlagSet("scan", flag.ContinueOnError)

	recPath := fset.String("record", "", "verify the run record `file` (strict schema, then scan)")
	fpPath := fset.String("fingerprints", "", "`file` of '<sha256 hex> <ref>' lines (SL8 ops-only fingerprints) to look for")
	policy := fset.String("policy", "", "policy `file` whose required_prefix adds detectors (default configs/secrets-policy.json when it exists)")
	if err := parseFlags(fset, args, e, "Usage: keylease scan [--record F | PATHS...] [--fingerprints F] [--policy F]"); err != nil {
		return err
	}
	paths := fset.Args()
	if (*recPath == "") == (len(paths) == 0) {
		return usageError("scan needs either --record FILE or PATHS (not both)")
	}
	opts := masking.ScanOptions{Detectors: true}
	if *fpPath != "" {
		fps, err := loadFingerprints(*fpPath)
		if err != nil {
			return err
		}
		opts.Fingerprints = fps
	}
	pp := *policy
	if pp == "" {
		if _, err := os.Stat("configs/secrets-policy.json"); err == nil {
			pp = "configs/secrets-policy.json"
		}
	}
	if pp != "" {
		p, err := loadPolicyPrefixes(pp)
		if err != nil {
			return err
		}
		opts.Prefixes = p
	}
	sc := masking.NewScanner(opts)
	onActions := e.getenv("GITHUB_ACTIONS") == "true"
	found := 0
	report := func(path string, fs []masking.Finding) {
		for _, f := range fs {
			found++
			what := f.Detector
			if f.Ref != "" {
				what += " (" + f.Ref + ")"
			}
			// A file name is anyone's text: quoted when not plain, so it
			// cannot start a workflow command line.
			fmt.Fprintf(e.stdout, "%s: byte %d (+%d): %s\n", shownPath(path), f.Offset, f.Length, guard().Line(what))
			if onActions {
				fmt.Fprintf(e.stdout, "::error file=%s,title=keylease scan::%s\n", escapeProperty(path), annotationData(fmt.Sprintf("%s at byte %d", what, f.Offset)))
			}
		}
	}
	if *recPath != "" {
		b, err := os.ReadFile(*recPath)
		if err != nil {
			return usageError("--record %s: %v", shownPath(*recPath), err)
		}
		if _, err := record.Decode(b); err != nil {
			return &exitError{code: exitLeak, err: fmt.Errorf("--record %s: %w; a record keylease did not write (or that was altered) is not verified", shownPath(*recPath), err)}
		}
		report(*recPath, sc.Scan(b))
		clear(b)
	} else {
		for _, root := range paths {
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() || !d.Type().IsRegular() {
					return nil
				}
				f, err := sc.ScanFile(p)
				if err != nil {
					return err
				}
				report(p, f)
				return nil
			})
			if err != nil {
				return usageError("scan %s: %v", shownPath(root), err)
			}
		}
	}
	if found > 0 {
		return &exitError{code: exitLeak, err: fmt.Errorf("scan found %d secret(s); revoke each key at its vendor now, rotate a replacement into Secrets Manager, and mark the registry entry revoked: true", found)}
	}
	fmt.Fprintln(e.stdout, "keylease scan: no findings")
	return nil
}

// loadPolicyPrefixes reads only the policy (the registry is not needed to scan).
func loadPolicyPrefixes(path string) (map[string]string, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, usageError("--policy %s: %v", shownPath(path), err)
	}
	var p struct {
		RequiredPrefix map[string]string `json:"required_prefix"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, usageError("--policy %s: not JSON (%v); run keylease check", shownPath(path), err)
	}
	return p.RequiredPrefix, nil
}
