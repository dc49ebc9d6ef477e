package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/scanreport"
)

func init() {
	register(&command{name: "check", summary: "validate the registry, the policy and workflow refs", run: runCheck})
	exitClassifiers = append(exitClassifiers, classifyRegistryError)
}

// classifyRegistryError maps registry errors to exit codes: configuration
// problems and bad refs or variable names are 2, refused leases are 3.
func classifyRegistryError(err error) (int, bool) {
	var ps registry.Problems
	var pps *registry.Problems
	var re *registry.RefError
	var refused *registry.RefusedError
	switch {
	case errors.As(err, &refused):
		return exitLease, true
	case errors.As(err, &ps), errors.As(err, &pps), errors.As(err, &re), errors.Is(err, registry.ErrInvalidEnvVar):
		return exitConfig, true
	}
	return 0, false
}

const checkUsage = "Usage: keylease check [--registry F] [--policy F] [--format text|sarif] [WORKFLOW_FILES...]"

// checkFlags read KEYLEASE_<FLAG> when not given. INPUT_* is not read, as
// for exec: a composite action's steps never receive it.
var checkFlags = []string{"registry", "policy"}

func runCheck(_ context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	regPath := fs.String("registry", "configs/secrets-registry.yaml", "registry file (env KEYLEASE_REGISTRY)")
	polPath := fs.String("policy", "configs/secrets-policy.json", "policy file (env KEYLEASE_POLICY)")
	format := fs.String("format", "text", "`format` of the problems: text (stderr) or sarif (stdout, for code scanning)")
	if err := parseFlags(fs, args, e, checkUsage); err != nil {
		return err
	}
	// A path with a control character is checked all the same (it is
	// shown quoted): check reads files, it writes none and leases nothing.
	if _, err := fillFromEnv(fs, checkFlags, nil, e); err != nil {
		return err
	}
	if *format != "text" && *format != "sarif" {
		return usageError("--format %s: want text or sarif", shownValue("--format", *format))
	}
	cfg, err := registry.Load(*regPath, *polPath)
	var ps registry.Problems
	if err != nil && !errors.As(err, &ps) {
		return err
	}
	if err == nil {
		for _, wf := range fs.Args() {
			ps = append(ps, registry.CheckWorkflowFile(wf, cfg)...)
		}
	}
	if *format == "sarif" {
		if err := checkSARIF(e, ps); err != nil {
			return err
		}
	}
	if len(ps) > 0 {
		reportProblems(e, ps, *format == "sarif")
		return &exitError{code: exitConfig}
	}
	revoked := 0
	for _, en := range cfg.Registry.Entries() {
		if en.Revoked {
			revoked++
		}
	}
	// With sarif, stdout holds the SARIF log only.
	okOut := e.stdout
	if *format == "sarif" {
		okOut = e.stderr
	}
	fmt.Fprintf(okOut, "ok: %s and %s are valid: %d vendors × %d environments (%d entries, %d revoked)",
		shownPath(*regPath), shownPath(*polPath), len(cfg.Registry.Vendors()), len(cfg.Registry.Environments()), len(cfg.Registry.Entries()), revoked)
	if n := fs.NArg(); n > 0 {
		fmt.Fprintf(okOut, "; %d workflow file(s) pass the workflow lint and refer only to leasable entries", n)
	}
	if note := cfg.Policy.DefaultCapsNote(); note != "" {
		fmt.Fprintf(okOut, " (%s)", note)
	}
	fmt.Fprintln(okOut)
	for _, en := range cfg.Registry.Entries() {
		if note, ok := registry.Transitional(en); ok {
			fmt.Fprintf(okOut, "%s line %d: %s\n", shownPath(*regPath), en.Line, note)
		}
	}
	return nil
}

// reportProblems prints one line per problem on stderr and, under GitHub
// Actions, one ::error annotation per problem on stdout, positioned on the
// file and line (on stderr when stdout holds a SARIF log: the runner reads
// workflow commands on both).
func reportProblems(e *env, ps registry.Problems, sarifOnStdout bool) {
	ann := e.stdout
	if sarifOnStdout {
		ann = e.stderr
	}
	annotate := e.getenv("GITHUB_ACTIONS") == "true"
	for _, p := range ps {
		// The file is the user's argument: quoted when it is not plain.
		line := shownPath(p.File) + strings.TrimPrefix(p.String(), p.File)
		fmt.Fprintf(e.stderr, "keylease: %s\n", safeLine(sanitize(line)))
		if !annotate {
			continue
		}
		props := []string{"file=" + escapeProperty(p.File)}
		if p.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", p.Line))
			if p.Column > 0 {
				props = append(props, fmt.Sprintf("col=%d", p.Column))
			}
		}
		props = append(props, "title=keylease check")
		msg := p.Msg
		if p.Field != "" {
			msg = p.Field + ": " + msg
		}
		fmt.Fprintf(ann, "::error %s::%s\n", strings.Join(props, ","), annotationData(sanitize(msg)))
	}
}

// ruleConfig is the SARIF rule of a problem in the registry or policy.
const ruleConfig = "config-problem"

// checkSARIF writes the problems as a SARIF log on stdout, one rule per
// workflow check.
func checkSARIF(e *env, ps registry.Problems) error {
	rep := &scanreport.Report{Tool: "keylease check", Version: version}
	rep.Rules = append(rep.Rules, scanreport.Rule{ID: ruleConfig, Help: "The registry or policy file is not valid: keylease check names the field and what to do."})
	for id, help := range registry.WorkflowRules {
		rep.Rules = append(rep.Rules, scanreport.Rule{ID: id, Help: help})
	}
	sortRules(rep.Rules)
	for _, p := range ps {
		rule := p.Rule
		if rule == "" {
			rule = ruleConfig
		}
		msg := p.Msg
		if p.Field != "" {
			msg = p.Field + ": " + msg
		}
		rep.Findings = append(rep.Findings, scanreport.Finding{Path: guard().Text(p.File), Line: max(p.Line, 1), Column: max(p.Column, 1), Rule: rule, Message: guard().Line(sanitize(msg))})
	}
	if err := rep.WriteSARIF(e.stdout); err != nil {
		return fmt.Errorf("check: write SARIF: %w", err)
	}
	return nil
}

func sortRules(rs []scanreport.Rule) {
	slices.SortFunc(rs, func(a, b scanreport.Rule) int { return strings.Compare(a.ID, b.ID) })
}
