package registry

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy is configs/secrets-policy.json: what may be leased and for how long.
type Policy struct {
	Version        int
	AllowedSecrets []string          // vendor names that may be leased
	RequiredPrefix map[string]string // vendor → prefix every fetched value must have
	Flags          Flags
	TTLCapsSeconds map[string]int    // environment → longest lease, defaults filled in
	defaultedCaps  []string          // environments whose cap is a default, in defaultTTLCaps order
	RotationDays   map[string]int    // environment → rotation cadence (SL6)
	AuditSeverity  map[string]string // keylease audit finding id → severity it is raised to
	Backends       Backends
}

// Flags are the policy's switches.
type Flags struct {
	NoLogging        bool // never log values (always true in practice; recorded in the run record)
	NoPersistence    bool // refuse exporting a value beyond the child (GITHUB_ENV, files)
	AllowShortValues bool // accept values under 8 bytes, which cannot be masked reliably
}

// Backends says where refs resolve.
type Backends struct {
	KV     KVBackend
	Stores map[string]StoreBackend // env, vault, op, keychain: only those the policy names
}

// KVBackend maps kv://<path> refs to a store.
type KVBackend struct {
	Type         string // "aws-secretsmanager"
	NameTemplate string // contains "{path}"; "" means DefaultKVTemplate
}

// defaultTTLCaps are the default caps (SL4: local and dev at most an hour,
// CI 15 minutes, prod 5) for the four environments of the seed, used where
// the policy gives none. Any other environment needs a cap in the policy.
var defaultTTLCaps = []struct {
	env     string
	seconds int
}{{"local", 3600}, {"dev", 3600}, {"ci", 900}, {"prod", 300}}

// DefaultedCaps lists the environments whose TTL cap is a default because
// the policy's ttl_caps_seconds does not name them.
func (p *Policy) DefaultedCaps() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.defaultedCaps...)
}

// DefaultCapsNote says which TTL caps are defaults, e.g. "default TTL caps:
// local/dev 3600 s, ci 900 s, prod 300 s", or "" when the policy gives all.
func (p *Policy) DefaultCapsNote() string {
	if p == nil || len(p.defaultedCaps) == 0 {
		return ""
	}
	var parts []string
	var envs []string
	for i, env := range p.defaultedCaps {
		envs = append(envs, env)
		s := p.TTLCapsSeconds[env]
		if i+1 < len(p.defaultedCaps) && p.TTLCapsSeconds[p.defaultedCaps[i+1]] == s {
			continue
		}
		parts = append(parts, strings.Join(envs, "/")+" "+strconv.Itoa(s)+" s")
		envs = nil
	}
	return "default TTL caps: " + strings.Join(parts, ", ")
}

// TTLCap is the policy's longest lease in env, and whether env has a cap at
// all (an environment without a cap cannot be leased in).
func (p *Policy) TTLCap(env string) (time.Duration, bool) {
	if p == nil {
		return 0, false
	}
	s, ok := p.TTLCapsSeconds[env]
	if !ok {
		return 0, false
	}
	return time.Duration(s) * time.Second, true
}

// NoPersistence reports flags.no_persistence.
func (p *Policy) NoPersistence() bool { return p != nil && p.Flags.NoPersistence }

// NoLogging reports flags.no_logging.
func (p *Policy) NoLogging() bool { return p != nil && p.Flags.NoLogging }

// AllowShortValues reports flags.allow_short_values (default false).
func (p *Policy) AllowShortValues() bool { return p != nil && p.Flags.AllowShortValues }

// Allowed reports whether vendor is in allowed_secrets.
func (p *Policy) Allowed(vendor string) bool {
	if p == nil {
		return false
	}
	for _, v := range p.AllowedSecrets {
		if v == vendor {
			return true
		}
	}
	return false
}

// Environments lists the environments with a TTL cap, sorted.
func (p *Policy) Environments() []string {
	envs := make([]string, 0, len(p.TTLCapsSeconds))
	for e := range p.TTLCapsSeconds {
		envs = append(envs, e)
	}
	sort.Strings(envs)
	return envs
}

// policyFromTree builds a Policy from what parsed, leniently: fields with
// problems are left at their zero value (the problems are already reported).
func policyFromTree(t *tree) *Policy {
	root, _ := t.root.(map[string]any)
	p := &Policy{RequiredPrefix: map[string]string{}, TTLCapsSeconds: map[string]int{}, RotationDays: map[string]int{}}
	p.Version, _ = asInt(root["version"])
	if l, ok := root["allowed_secrets"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				p.AllowedSecrets = append(p.AllowedSecrets, s)
			}
		}
	}
	if m, ok := root["required_prefix"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok && !t.suppressed(ptrOf("/required_prefix", k)) {
				p.RequiredPrefix[k] = s
			}
		}
	}
	if m, ok := root["flags"].(map[string]any); ok {
		p.Flags.NoLogging, _ = m["no_logging"].(bool)
		p.Flags.NoPersistence, _ = m["no_persistence"].(bool)
		p.Flags.AllowShortValues, _ = m["allow_short_values"].(bool)
	}
	intMap(root["ttl_caps_seconds"], p.TTLCapsSeconds)
	given, _ := root["ttl_caps_seconds"].(map[string]any)
	for _, d := range defaultTTLCaps {
		if _, ok := given[d.env]; !ok {
			p.TTLCapsSeconds[d.env] = d.seconds
			p.defaultedCaps = append(p.defaultedCaps, d.env)
		}
	}
	intMap(root["rotation_days"], p.RotationDays)
	if m, ok := root["audit_severity"].(map[string]any); ok {
		p.AuditSeverity = map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				p.AuditSeverity[k] = s
			}
		}
	}
	if b, ok := root["backends"].(map[string]any); ok {
		if kv, ok := b["kv"].(map[string]any); ok {
			p.Backends.KV.Type, _ = kv["type"].(string)
			p.Backends.KV.NameTemplate, _ = kv["name_template"].(string)
		}
		p.Backends.Stores = storeBackendsFromTree(b)
	}
	if p.Backends.KV.Type == "" {
		p.Backends.KV.Type = "aws-secretsmanager"
	}
	return p
}

func intMap(v any, into map[string]int) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, x := range m {
		if n, ok := asInt(x); ok && n > 0 {
			into[k] = n
		}
	}
}

func asInt(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		i = int64(f)
	}
	if i < -1<<31 || i > 1<<31-1 {
		return 0, false
	}
	return int(i), true
}
