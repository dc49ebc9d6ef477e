package registry

import (
	"errors"
	"fmt"
	"time"
)

// Registry is configs/secrets-registry.yaml: vendor → environment → Entry.
type Registry struct {
	entries []*Entry
	index   map[string]map[string]*Entry
}

// Entry is one vendor's secret in one environment: a ref and value-free
// metadata (SL8), never a value.
type Entry struct {
	Vendor, Env   string
	Ref           Ref
	Scope         []string
	MaxTTLSeconds int
	Created       time.Time // zero when not recorded
	LastRotated   time.Time // zero when not recorded
	ExpiryPolicy  string
	Revoked       bool
	RevokedAt     time.Time // zero when not recorded
	Line          int       // line of the entry's environment key in the registry file

	Role       string      // RoleAdmin or ""
	Mode       string      // ModeStored, ModeMinted or ModeFederated; "" is stored
	Admin      string      // minted: the environment whose entry holds the admin key
	ProjectID  string      // minted: OpenAI project / xAI team
	Rotation   *Rotation   // nil: not rotated by keylease rotate
	Federation *Federation // federated only
}

// Roles, modes and rotation methods of an entry.
const (
	RoleAdmin = "admin"

	ModeStored    = "stored"
	ModeMinted    = "minted"
	ModeFederated = "federated"

	MethodMint   = "mint"
	MethodStaged = "staged"
)

// Rotation is how keylease rotate replaces an entry's key.
type Rotation struct {
	Method    string // MethodMint or MethodStaged
	Admin     string // environment of the same vendor whose entry has role admin
	ProjectID string // OpenAI project / xAI team
}

// Federation names the vendor's workload-identity rule (ids, no values).
type Federation struct {
	OrganizationID, RuleID, ServiceAccountID, Audience string
}

// IsAdmin reports whether the entry holds a vendor admin key, which only
// keylease itself may use.
func (e *Entry) IsAdmin() bool { return e.Role == RoleAdmin }

// TTL is the entry's max_ttl_seconds as a duration.
func (e *Entry) TTL() time.Duration { return time.Duration(e.MaxTTLSeconds) * time.Second }

// Entry returns the entry for vendor in env.
func (r *Registry) Entry(vendor, env string) (*Entry, bool) {
	if r == nil {
		return nil, false
	}
	e, ok := r.index[vendor][env]
	return e, ok
}

// Entries returns every entry in file order.
func (r *Registry) Entries() []*Entry {
	if r == nil {
		return nil
	}
	return append([]*Entry(nil), r.entries...)
}

// Vendors returns the vendor names in file order.
func (r *Registry) Vendors() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range r.Entries() {
		if !seen[e.Vendor] {
			seen[e.Vendor] = true
			out = append(out, e.Vendor)
		}
	}
	return out
}

// Environments returns the environment names in order of first appearance.
func (r *Registry) Environments() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range r.Entries() {
		if !seen[e.Env] {
			seen[e.Env] = true
			out = append(out, e.Env)
		}
	}
	return out
}

// Config is a loaded, valid pair of registry and policy.
type Config struct {
	Registry     *Registry
	Policy       *Policy
	RegistryPath string
	PolicyPath   string
}

// Load reads and validates the registry and the policy. Every problem in
// either file is returned together as Problems; no message holds a value.
func Load(registryPath, policyPath string) (*Config, error) {
	reg, rp := readConfig(registryPath, "--registry or KEYLEASE_REGISTRY")
	pol, pp := readConfig(policyPath, "--policy or KEYLEASE_POLICY")
	var ps Problems
	if rp != nil {
		ps = append(ps, *rp)
	}
	if pp != nil {
		ps = append(ps, *pp)
	}
	if len(ps) > 0 {
		// Report what can be said about the other file too.
		if rp == nil {
			_, more := parse(registryPath, reg, policyPath, nil)
			ps = append(ps, more...)
		}
		if pp == nil {
			_, more := parse(registryPath, nil, policyPath, pol)
			ps = append(ps, more...)
		}
		sortProblems(ps, registryPath, policyPath)
		return nil, ps
	}
	return Parse(registryPath, reg, policyPath, pol)
}

// Parse validates registry and policy contents already in memory; the file
// names are used in problems. Errors are Problems, as for Load.
func Parse(registryFile string, registryData []byte, policyFile string, policyData []byte) (*Config, error) {
	if registryData == nil {
		registryData = []byte{}
	}
	if policyData == nil {
		policyData = []byte{}
	}
	c, ps := parse(registryFile, registryData, policyFile, policyData)
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// parse does Parse's work. A nil data slice means "not available": nothing
// is reported about that file and the cross-file rules that need it are
// skipped (Load uses this when the other file cannot be read).
func parse(registryFile string, registryData []byte, policyFile string, policyData []byte) (*Config, Problems) {
	var ps Problems
	var pol *Policy
	var polTree *tree
	if policyData != nil {
		if data, p := checkText(policyFile, policyData); p != nil {
			ps = append(ps, *p)
		} else {
			polTree = parseJSONTree(policyFile, data)
			if polTree.root != nil {
				polTree.scanValues("", polTree.root)
				polTree.validateSchema(policySchemaFile, policyNames)
				pol = policyFromTree(polTree)
			}
		}
	}
	var reg *Registry
	var regTree *tree
	if registryData != nil {
		if data, p := checkText(registryFile, registryData); p != nil {
			ps = append(ps, *p)
		} else {
			regTree = parseYAMLTree(registryFile, data)
			if regTree.root != nil {
				regTree.scanValues("", regTree.root)
				regTree.validateSchema(registrySchemaFile, registryNames)
				reg = registryFromTree(regTree, pol, polTree)
			}
		}
	}
	if polTree != nil {
		if pol != nil {
			crossPolicy(polTree, pol)
		}
		ps = append(ps, polTree.probs...)
	}
	if regTree != nil {
		ps = append(ps, regTree.probs...)
	}
	if len(ps) > 0 || reg == nil || pol == nil {
		sortProblems(ps, registryFile, policyFile)
		return nil, capProblems(ps)
	}
	return &Config{Registry: reg, Policy: pol, RegistryPath: registryFile, PolicyPath: policyFile}, nil
}

// maxProblems bounds a report: past it, a file is more likely the wrong file
// than a configuration with that many mistakes.
const maxProblems = 100

func capProblems(ps Problems) Problems {
	if len(ps) <= maxProblems {
		return ps
	}
	more := len(ps) - maxProblems
	ps = append(ps[:maxProblems:maxProblems], Problem{File: ps[maxProblems].File,
		Msg: fmt.Sprintf("%d more problems not shown; fix these first, or check that the right file is named", more)})
	return ps
}

func registryNames(loc []string) string {
	if len(loc) == 0 {
		return "vendor"
	}
	return "environment"
}

func policyNames(loc []string) string {
	if len(loc) == 1 && loc[0] == "required_prefix" {
		return "vendor"
	}
	return "environment"
}

// crossPolicy checks rules within the policy that the schema cannot express.
func crossPolicy(t *tree, p *Policy) {
	checkStoreBackends(t, p)
	for _, k := range t.order["/required_prefix"] {
		cp := ptrOf("/required_prefix", k)
		if !t.hit[cp] && !t.suppressed(cp) && len(p.AllowedSecrets) > 0 && !p.Allowed(k) {
			t.addAt(cp, "vendor is not in allowed_secrets; add it there or remove this prefix")
		}
	}
}

// registryFromTree builds the registry from what parsed and checks the rules
// that involve the policy. pol and polTree may be nil (policy unreadable):
// those rules are then skipped rather than reported twice.
func registryFromTree(t *tree, pol *Policy, polTree *tree) *Registry {
	r := &Registry{index: map[string]map[string]*Entry{}}
	root, _ := t.root.(map[string]any)
	allowlistOK := pol != nil && len(pol.AllowedSecrets) > 0 && polTree != nil && !polTree.hitUnder("/allowed_secrets")
	capsOK := pol != nil && polTree != nil && !polTree.hitUnder("/ttl_caps_seconds")
	var kvPolicy *Policy
	if pol != nil && polTree != nil && !polTree.hitUnder("/backends") {
		kvPolicy = pol
	}
	for _, vendor := range t.order[""] {
		vp := ptrOf("", vendor)
		if t.suppressed(vp) {
			continue
		}
		if allowlistOK && !t.hit[vp] && !pol.Allowed(vendor) {
			t.addAt(vp, "vendor is not in the policy's allowed_secrets; add it to allowed_secrets or remove the entry")
		}
		envs, _ := root[vendor].(map[string]any)
		for _, env := range t.order[vp] {
			ep := ptrOf(vp, env)
			if t.suppressed(ep) {
				continue
			}
			m, ok := envs[env].(map[string]any)
			if !ok {
				continue
			}
			e := &Entry{Vendor: vendor, Env: env, Line: t.at[ep].line}
			cp, capOK := 0, false
			if capsOK && !t.hit[ep] {
				cp, capOK = pol.TTLCapsSeconds[env]
				if !capOK {
					t.addAt(ep, "environment has no cap in the policy's ttl_caps_seconds and no default (only local, dev, ci and prod have one); add a cap there")
				}
			}
			if n, ok := asInt(m["max_ttl_seconds"]); ok {
				e.MaxTTLSeconds = n
				if fp := ptrOf(ep, "max_ttl_seconds"); capOK && n > cp && !t.hit[fp] {
					t.addAt(fp, fmt.Sprintf("%d s exceeds the policy cap of %d s for %s; lower it to at most %d", n, cp, env, cp))
				}
			}
			if raw, ok := m["secret_ref"].(string); ok {
				fp := ptrOf(ep, "secret_ref")
				if !t.hit[fp] && !t.suppressed(fp) {
					ref, err := ParseRef(raw, kvPolicy)
					var re *RefError
					switch {
					case errors.As(err, &re):
						t.addAt(fp, re.Error())
					case err != nil:
						t.addAt(fp, "invalid ref; write kv://<path> or aws-sm://<name-or-ARN>[#json-key]")
					default:
						e.Ref = ref
						if why := kvPolicy.StoreAllowed(ref, env); kvPolicy != nil && why != "" {
							t.addAt(fp, why)
						}
					}
				}
			}
			if l, ok := m["scope"].([]any); ok {
				for _, s := range l {
					if str, ok := s.(string); ok {
						e.Scope = append(e.Scope, str)
					}
				}
			}
			e.Created = t.date(ep, m, "created")
			e.LastRotated = t.date(ep, m, "last_rotated")
			if !e.Created.IsZero() && !e.LastRotated.IsZero() && e.LastRotated.Before(e.Created) {
				t.addAt(ptrOf(ep, "last_rotated"), "is before created; fix one of the dates")
			}
			e.ExpiryPolicy, _ = m["expiry_policy"].(string)
			e.Revoked, _ = m["revoked"].(bool)
			e.RevokedAt = t.date(ep, m, "revoked_at")
			lifecycleFields(e, m)
			if r.index[vendor] == nil {
				r.index[vendor] = map[string]*Entry{}
			}
			r.index[vendor][env] = e
			r.entries = append(r.entries, e)
		}
	}
	checkLifecycle(t, r)
	checkStoreEntries(t, r)
	if kvPolicy != nil {
		c := &Config{Registry: r, Policy: kvPolicy}
		checkAdminStores(t, c)
		checkFederationAudiences(t, c)
	}
	return r
}

func (t *tree) date(entryPtr string, m map[string]any, key string) time.Time {
	s, ok := m[key].(string)
	fp := ptrOf(entryPtr, key)
	if !ok || t.hit[fp] || t.suppressed(fp) {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.addAt(fp, "is not a calendar date; write YYYY-MM-DD")
		return time.Time{}
	}
	return d
}
