package registry

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// CheckWorkflowFile reads a GitHub Actions workflow and checks its keylease
// steps against c (see CheckWorkflow).
func CheckWorkflowFile(path string, c *Config) Problems {
	data, p := readConfig(path, "the workflow file argument")
	if p != nil {
		return Problems{*p}
	}
	return CheckWorkflow(path, data, c)
}

// CheckWorkflow checks the keylease steps of a workflow (steps whose uses
// names keylease/keylease, or a local action with vendors or refs inputs):
// every vendor must be allowed and have a live entry for the step's
// environment, every ref must parse and must not name a revoked secret, and
// no input may hold a value. Inputs that are expressions (${{ … }}) are
// checked only as far as they are literal; steps whose registry or policy
// input names other files are skipped.
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
	for _, job := range t.order["/jobs"] {
		jm, _ := jobs[job].(map[string]any)
		steps, _ := jm["steps"].([]any)
		for i, s := range steps {
			sm, _ := s.(map[string]any)
			with, _ := sm["with"].(map[string]any)
			uses, _ := sm["uses"].(string)
			if !isKeyleaseStep(uses, with) || !sameConfig(with, c) {
				continue
			}
			wp := ptrOf(ptrOf(ptrOf(ptrOf("/jobs", job), "steps"), strconv.Itoa(i)), "with")
			t.checkStep(wp, with, c)
		}
	}
	sortProblems(t.probs, file)
	return t.probs
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
			t.addAt(ip, fmt.Sprintf("looks like a secret value (%s detector); a workflow names vendors and refs only: remove it, and rotate it, it has been exposed", det))
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
				t.addAt(ip, fmt.Sprintf("vendor %q is not in allowed_secrets of %s; add it there or fix the name", v, c.PolicyPath))
			case envKnown:
				if e, ok := c.Registry.Entry(v, env); !ok {
					t.addAt(ip, fmt.Sprintf("vendor %q has no entry for environment %q in %s; add %s.%s or fix the environment input", v, env, c.RegistryPath, v, env))
				} else if e.Revoked {
					t.addAt(ip, fmt.Sprintf("vendor %q in %q is revoked (%s line %d); rotate a new value in and clear revoked", v, env, c.RegistryPath, e.Line))
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
				t.addAt(ip, err.Error())
				continue
			}
			for _, e := range c.Registry.Entries() {
				if e.Revoked && sameSecret(e.Ref, ref) {
					t.addAt(ip, fmt.Sprintf("ref %q names %s.%s, which is revoked (%s line %d); use the rotated ref", ref.Raw, e.Vendor, e.Env, c.RegistryPath, e.Line))
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
		t.addAt(ip, fmt.Sprintf("vendor %q has no entry in %s; add one", vendor, c.RegistryPath))
		return
	}
	t.addAt(ip, fmt.Sprintf("vendor %q is revoked in every environment (%s); rotate a new value in", vendor, strings.Join(envs, ", ")))
}
