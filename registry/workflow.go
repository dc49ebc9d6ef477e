package registry

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Workflow rule ids, as problems and SARIF name them.
const (
	RuleSecretExposed     = "secret-exposed-to-steps"
	RuleRevokedRef        = "revoked-ref-in-workflow"
	RuleUnpinned          = "keylease-action-unpinned"
	RulePullRequestTarget = "keylease-under-pull-request-target"
	RuleNoIDToken         = "keylease-without-id-token-write"
	RuleStepConfig        = "keylease-step-config"
	RuleValueInWorkflow   = "secret-value-in-workflow"
)

// WorkflowRules describes each workflow rule for SARIF's rule table.
var WorkflowRules = map[string]string{ // #nosec G101 -- rule descriptions, not credentials
	RuleSecretExposed:     "A step other than keylease receives a repository secret (env:, with: or run:): the workflow holds the raw value and hands it to code that may print, upload or send it. Store the key in AWS Secrets Manager and lease it with keylease to exactly the command that needs it.",
	RuleRevokedRef:        "A keylease step leases a registry entry that is revoked: true. Rotate a new value in and lease the new entry.",
	RuleUnpinned:          "The keylease action is referenced by a tag or branch, which can be moved to other code. Pin it by the full commit SHA (a comment may name the version).",
	RulePullRequestTarget: "keylease runs in a workflow triggered by pull_request_target, which runs with the base repository's secrets and OIDC token on code a fork can influence. Use pull_request, or lease only in a separate workflow that does not check out the fork's code.",
	RuleNoIDToken:         "A job uses keylease without id-token: write (job or workflow permissions), so it cannot get the GitHub OIDC token keylease exchanges for AWS credentials.",
	RuleStepConfig:        "A keylease step names a vendor, environment or ref the registry and policy do not allow.",
	RuleValueInWorkflow:   "A keylease step's input holds what looks like a secret value; a workflow names vendors and refs only. Remove it and rotate the value: it has been exposed.",
}

// fullSHA is a commit id: SHA-1 or SHA-256.
var fullSHA = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// exprRE finds ${{ … }} expressions; secretRefRE finds what of the secrets
// context one reads: secrets.NAME, secrets['NAME'], or secrets alone
// (toJSON(secrets): all of them).
var (
	exprRE      = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
	secretRefRE = regexp.MustCompile(`(?:^|[^.\w])secrets\b(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\s*\[\s*['"]([^'"]+)['"]\s*\])?`)
)

// secretsIn returns the secret names s reads in expressions ("*" for the
// whole secrets context). GITHUB_TOKEN is left out: GitHub mints it per
// job, scoped by permissions:, and actions take it by default; flagging it
// would flag nearly every workflow without making one safer.
func secretsIn(s string) []string {
	var out []string
	for _, m := range exprRE.FindAllStringSubmatch(s, -1) {
		for _, r := range secretRefRE.FindAllStringSubmatch(m[1], -1) {
			name := r[1] + r[2]
			if name == "" {
				name = "*"
			}
			if strings.EqualFold(name, "GITHUB_TOKEN") {
				continue
			}
			out = append(out, name)
		}
	}
	return out
}

// CheckWorkflowFile reads a GitHub Actions workflow and checks its keylease
// steps against c (see CheckWorkflow).
func CheckWorkflowFile(path string, c *Config) Problems {
	data, p := readConfig(path, "the workflow file argument")
	if p != nil {
		return Problems{*p}
	}
	return CheckWorkflow(path, data, c)
}

// CheckWorkflow lints a workflow: secrets handed to steps that are not
// keylease (SL2), keylease actions not pinned by commit SHA, keylease under
// pull_request_target, jobs using keylease without id-token: write; and it
// checks the keylease steps of a workflow (steps whose uses
// names keylease/keylease, or a local action with vendors or refs inputs):
// every vendor must be allowed and have a live entry for the step's
// environment, every ref must parse and must not name a revoked secret, and
// no input may hold a value. Inputs that are expressions (${{ … }}) are
// checked only as far as they are literal; steps whose registry or policy
// input names other files are skipped.
//
// The walk is over the registry's own positioned YAML tree (goccy/go-yaml)
// rather than actionlint's exported parser: the tree already gives every
// key's line and column and the field names messages use, and actionlint's
// module would bring its own YAML stack and dependencies for a parse CI
// already runs (the actionlint binary checks workflow syntax).
func CheckWorkflow(file string, data []byte, c *Config) Problems {
	data, p := checkText(file, data)
	if p != nil {
		return Problems{*p}
	}
	t := parseYAMLTree(file, data)
	if t.root == nil {
		return t.probs
	}
	t.probs = nil // constructs keylease refuses in its own files are fine in a workflow
	root, _ := t.root.(map[string]any)
	jobs, _ := root["jobs"].(map[string]any)
	prt := hasTrigger(root["on"], "pull_request_target")
	t.checkExposed("/env", root["env"], "every step of every job")
	for _, job := range t.order["/jobs"] {
		jp := ptrOf("/jobs", job)
		jm, _ := jobs[job].(map[string]any)
		steps, _ := jm["steps"].([]any)
		t.checkExposed(ptrOf(jp, "env"), jm["env"], "every step of job "+strconv.Quote(job))
		usesKeylease := false
		for i, s := range steps {
			sp := ptrOf(ptrOf(jp, "steps"), strconv.Itoa(i))
			sm, _ := s.(map[string]any)
			with, _ := sm["with"].(map[string]any)
			uses, _ := sm["uses"].(string)
			if !isKeyleaseStep(uses, with) {
				t.checkExposed(ptrOf(sp, "env"), sm["env"], "this step")
				t.checkExposed(ptrOf(sp, "with"), sm["with"], "this step")
				if run, ok := sm["run"].(string); ok {
					if names := secretsIn(run); len(names) > 0 {
						t.addExposed(ptrOf(sp, "run"), names, "this step's script")
					}
				}
				continue
			}
			usesKeylease = true
			if name, ref, _ := strings.Cut(uses, "@"); !strings.HasPrefix(uses, "./") && !fullSHA.MatchString(ref) {
				t.addRule(ptrOf(sp, "uses"), RuleUnpinned, fmt.Sprintf("%s is not pinned by a full commit SHA; use %s@<40-hex commit> # <version>, a tag can be moved", name, name))
			}
			if !sameConfig(with, c) {
				continue
			}
			t.checkStep(ptrOf(sp, "with"), with, c)
		}
		if !usesKeylease {
			continue
		}
		if prt {
			t.addRule(jp, RulePullRequestTarget, fmt.Sprintf("job %q uses keylease in a workflow triggered by pull_request_target (runs with this repository's secrets and OIDC token on a fork's pull request); trigger it on pull_request instead", job))
		}
		perms, where := jm["permissions"], ptrOf(jp, "permissions")
		if _, set := jm["permissions"]; !set {
			perms, where = root["permissions"], "/permissions"
			if _, set := root["permissions"]; !set {
				where = jp
			}
		}
		if !idTokenWrite(perms) {
			t.addRule(where, RuleNoIDToken, fmt.Sprintf("job %q uses keylease without id-token: write; add permissions: {id-token: write, contents: read} to the job", job))
		}
	}
	sortProblems(t.probs, file)
	return t.probs
}

func (t *tree) addRule(ptr, rule, msg string) {
	t.addAt(ptr, msg)
	t.probs[len(t.probs)-1].Rule = rule
}

// addExposed reports secrets names reaching a step that is not keylease.
func (t *tree) addExposed(ptr string, names []string, to string) {
	t.addRule(ptr, RuleSecretExposed, exposedMsg(names, to))
	t.probs[len(t.probs)-1].Secrets = slices.Clone(names)
}

func exposedMsg(names []string, to string) string {
	sort.Strings(names)
	what := "secret " + strings.Join(names, ", secret ")
	if slices.Contains(names, "*") {
		what = "every secret (the whole secrets context)"
	}
	return fmt.Sprintf("%s reaches %s, which is not keylease: the workflow holds the raw value; keep the key in Secrets Manager and lease it with keylease", what, to)
}

// checkExposed reports each member of an env: or with: mapping whose value
// reads a secret.
func (t *tree) checkExposed(ptr string, v any, to string) {
	m, ok := v.(map[string]any)
	if !ok {
		if s, ok := v.(string); ok { // env: ${{ fromJSON(secrets.X) }}
			if names := secretsIn(s); len(names) > 0 {
				t.addExposed(ptr, names, to)
			}
		}
		return
	}
	for _, k := range t.order[ptr] {
		s, _ := m[k].(string)
		if names := secretsIn(s); len(names) > 0 {
			t.addExposed(ptrOf(ptr, k), names, to)
		}
	}
}

// hasTrigger reports whether a workflow's on: (a name, a list or a map)
// includes event.
func hasTrigger(on any, event string) bool {
	switch v := on.(type) {
	case string:
		return v == event
	case []any:
		for _, e := range v {
			if s, _ := e.(string); s == event {
				return true
			}
		}
	case map[string]any:
		_, ok := v[event]
		return ok
	}
	return false
}

// idTokenWrite reports whether a permissions: value grants id-token: write.
// Absent permissions do not: GitHub's default token never has it.
func idTokenWrite(p any) bool {
	switch v := p.(type) {
	case string:
		return v == "write-all"
	case map[string]any:
		s, _ := v["id-token"].(string)
		return s == "write"
	}
	return false
}

func isKeyleaseStep(uses string, with map[string]any) bool {
	name, _, _ := strings.Cut(uses, "@")
	if name == "keylease/keylease" || strings.HasPrefix(name, "keylease/keylease/") {
		return true
	}
	if strings.HasPrefix(uses, "./") {
		_, v := with["vendors"]
		_, r := with["refs"]
		return v || r
	}
	return false
}

// sameConfig reports whether a step leases from the files being checked: a
// step naming another registry or policy (or one known only at run time) is
// checked when that file is.
func sameConfig(with map[string]any, c *Config) bool {
	for input, path := range map[string]string{"registry": c.RegistryPath, "policy": c.PolicyPath} {
		s, _ := with[input].(string)
		if s = strings.TrimSpace(s); s != "" && filepath.Clean(s) != filepath.Clean(path) {
			return false
		}
	}
	return true
}

func isExpr(s string) bool { return strings.Contains(s, "${{") }

func (t *tree) checkStep(wp string, with map[string]any, c *Config) {
	env := "ci"
	if s, ok := with["environment"].(string); ok && strings.TrimSpace(s) != "" {
		env = strings.TrimSpace(s)
	}
	envKnown := !isExpr(env)
	for _, input := range []string{"environment", "vendors", "refs"} {
		s, _ := with[input].(string)
		if det, bad := LooksLikeValue(s); bad {
			ip := ptrOf(wp, input)
			t.bad[ip] = true
			t.addRule(ip, RuleValueInWorkflow, fmt.Sprintf("looks like a secret value (%s detector); a workflow names vendors and refs only: remove it, and rotate it, it has been exposed", det))
		}
	}
	if vs, ok := with["vendors"].(string); ok && !t.bad[ptrOf(wp, "vendors")] {
		ip := ptrOf(wp, "vendors")
		for _, v := range strings.FieldsFunc(vs, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
			if isExpr(v) || strings.Contains(v, "}}") {
				continue
			}
			switch {
			case !c.Policy.Allowed(v):
				t.addRule(ip, RuleStepConfig, fmt.Sprintf("vendor %q is not in allowed_secrets of %s; add it there or fix the name", v, c.PolicyPath))
			case envKnown:
				if e, ok := c.Registry.Entry(v, env); !ok {
					t.addRule(ip, RuleStepConfig, fmt.Sprintf("vendor %q has no entry for environment %q in %s; add %s.%s or fix the environment input", v, env, c.RegistryPath, v, env))
				} else if e.Revoked {
					t.addRule(ip, RuleRevokedRef, fmt.Sprintf("vendor %q in %q is revoked (%s line %d); rotate a new value in and clear revoked", v, env, c.RegistryPath, e.Line))
				}
			default:
				t.checkAnyLive(ip, v, c)
			}
		}
	}
	if rs, ok := with["refs"].(string); ok && !t.bad[ptrOf(wp, "refs")] {
		ip := ptrOf(wp, "refs")
		for _, line := range strings.FieldsFunc(rs, func(r rune) bool { return r == '\n' || r == ',' }) {
			line = strings.TrimSpace(line)
			if line == "" || isExpr(line) {
				continue
			}
			raw := line
			if name, ref, ok := strings.Cut(line, "="); ok && !strings.Contains(name, "://") {
				raw = strings.TrimSpace(ref)
			}
			ref, err := ParseRef(raw, c.Policy)
			if err != nil {
				t.addRule(ip, RuleStepConfig, err.Error())
				continue
			}
			if why := c.Policy.StoreAllowed(ref, env); envKnown && why != "" {
				t.addRule(ip, RuleStepConfig, "ref "+ref.Raw+": "+why)
			}
			for _, e := range c.Registry.Entries() {
				if e.Revoked && sameSecret(e.Ref, ref) {
					t.addRule(ip, RuleRevokedRef, fmt.Sprintf("ref %q names %s.%s, which is revoked (%s line %d); use the rotated ref", ref.Raw, e.Vendor, e.Env, c.RegistryPath, e.Line))
				}
			}
		}
	}
}

// checkAnyLive reports a vendor (leased in an environment only known at run
// time) none of whose entries can be leased.
func (t *tree) checkAnyLive(ip, vendor string, c *Config) {
	var envs []string
	for _, e := range c.Registry.Entries() {
		if e.Vendor == vendor && !e.Revoked {
			return
		}
		if e.Vendor == vendor {
			envs = append(envs, e.Env)
		}
	}
	sort.Strings(envs)
	if len(envs) == 0 {
		t.addRule(ip, RuleStepConfig, fmt.Sprintf("vendor %q has no entry in %s; add one", vendor, c.RegistryPath))
		return
	}
	t.addRule(ip, RuleRevokedRef, fmt.Sprintf("vendor %q is revoked in every environment (%s); rotate a new value in", vendor, strings.Join(envs, ", ")))
}
