package registry

import (
	"fmt"
	"slices"
	"strings"
)

// modeVendors is which vendor supports which non-stored mode: the one table
// that check, exec and the docs follow. Stored works for every vendor.
// Minted needs an API that creates and deletes keys (Anthropic's admin API
// creates none); federated needs workload identity federation (xAI has none).
var modeVendors = map[string][]string{
	ModeMinted:    {"openai", "xai"},
	ModeFederated: {"anthropic", "openai"},
}

// SupportsMode reports whether vendor's entries may have mode ("" is stored).
func SupportsMode(vendor, mode string) bool {
	if mode == "" || mode == ModeStored {
		return true
	}
	return slices.Contains(modeVendors[mode], vendor)
}

// ModeSupport names the vendors that support mode, for messages.
func ModeSupport(mode string) string {
	if vs := modeVendors[mode]; len(vs) > 0 {
		return mode + ": " + strings.Join(vs, ", ")
	}
	return mode + ": every vendor"
}

// lifecycleFields reads role, mode, admin, project_id, rotation and
// federation; the schema has already checked their types and enums.
func lifecycleFields(e *Entry, m map[string]any) {
	e.Role, _ = m["role"].(string)
	e.Mode, _ = m["mode"].(string)
	e.Admin, _ = m["admin"].(string)
	e.ProjectID, _ = m["project_id"].(string)
	if rm, ok := m["rotation"].(map[string]any); ok {
		r := &Rotation{}
		r.Method, _ = rm["method"].(string)
		r.Admin, _ = rm["admin"].(string)
		r.ProjectID, _ = rm["project_id"].(string)
		e.Rotation = r
	}
	if fm, ok := m["federation"].(map[string]any); ok {
		f := &Federation{}
		f.OrganizationID, _ = fm["organization_id"].(string)
		f.RuleID, _ = fm["rule_id"].(string)
		f.ServiceAccountID, _ = fm["service_account_id"].(string)
		f.Audience, _ = fm["audience"].(string)
		e.Federation = f
	}
}

// checkLifecycle applies the rules between an entry's mode, role and
// rotation and the other entries of its vendor, which the schema cannot
// express. Each problem points at the offending key's line.
func checkLifecycle(t *tree, r *Registry) {
	for _, e := range r.entries {
		ep := ptrOf(ptrOf("", e.Vendor), e.Env)
		if t.hit[ep] {
			continue
		}
		at := func(key, msg string) {
			p := ep
			if key != "" {
				p = ptrOf(ep, key)
			}
			if !t.hit[p] && !t.suppressed(p) {
				t.addAt(p, msg)
			}
		}
		_, hasRef := t.at[ptrOf(ep, "secret_ref")]
		switch e.Mode {
		case ModeStored, "":
			if !hasRef {
				at("", "missing required key secret_ref (mode stored, the default); add it, or set mode: minted or federated")
			}
			if e.Admin != "" {
				at("admin", "admin belongs to mode: minted entries; for a stored entry name it under rotation.admin")
			}
			if e.Federation != nil {
				at("federation", "federation belongs to mode: federated entries; set mode: federated or remove it")
			}
		case ModeMinted:
			if !SupportsMode(e.Vendor, e.Mode) {
				at("mode", fmt.Sprintf("%s keys cannot be minted per lease (%s); use mode stored or federated", e.Vendor, ModeSupport(ModeMinted)))
			}
			if hasRef {
				at("secret_ref", "a minted entry stores no key: remove secret_ref (each lease gets a fresh key through admin)")
			}
			if e.Admin == "" {
				at("", "mode minted needs admin: the environment of this vendor whose entry has role: admin")
			} else {
				checkAdminRef(r, e, e.Admin, func(msg string) { at("admin", msg) })
			}
			if e.Federation != nil {
				at("federation", "federation belongs to mode: federated entries; remove it")
			}
			if e.ProjectID == "" {
				at("", "mode minted needs project_id: the OpenAI project or xAI team the lease's key is created in")
			}
		case ModeFederated:
			if !SupportsMode(e.Vendor, e.Mode) {
				at("mode", fmt.Sprintf("%s has no workload identity federation (%s); use mode stored or minted", e.Vendor, ModeSupport(ModeFederated)))
			}
			if f := e.Federation; f != nil && e.Vendor == "anthropic" && f.OrganizationID == "" {
				at("federation", "an Anthropic federation needs organization_id; add it")
			}
			if hasRef {
				at("secret_ref", "a federated entry stores no key: remove secret_ref (the job's OIDC token is exchanged at the vendor)")
			}
			if e.Admin != "" {
				at("admin", "a federated entry uses no admin key: remove admin")
			}
			if e.Federation == nil {
				at("", "mode federated needs federation {rule_id, service_account_id, audience}; add it")
			}
		}
		if e.IsAdmin() {
			if e.Mode != ModeStored && e.Mode != "" {
				at("mode", "an admin entry holds a stored admin key: remove mode or set it to stored")
			}
			if e.Rotation != nil && e.Rotation.Method == MethodMint {
				at("rotation", "an admin key cannot mint its own replacement: use rotation method staged")
			}
		}
		if rot := e.Rotation; rot != nil {
			if e.Mode != ModeStored && e.Mode != "" {
				at("rotation", "only a stored entry is rotated; remove rotation (minted and federated keys are short-lived already)")
			}
			switch {
			case rot.Method == MethodMint && rot.Admin == "":
				at("rotation", "rotation method mint needs rotation.admin: the environment of this vendor whose entry has role: admin")
			case rot.Admin != "":
				checkAdminRef(r, e, rot.Admin, func(msg string) { at("rotation", msg) })
			}
		}
	}
}

// checkAdminRef reports when env is not an admin entry of e's vendor.
func checkAdminRef(r *Registry, e *Entry, env string, report func(string)) {
	a, ok := r.Entry(e.Vendor, env)
	switch {
	case !ok:
		report(fmt.Sprintf("names admin environment %s, which %s has no entry for; add %s.%s with role: admin", env, e.Vendor, e.Vendor, env))
	case !a.IsAdmin():
		report(fmt.Sprintf("names %s.%s, which is not an admin entry; set role: admin there or name the admin entry", e.Vendor, env))
	case a == e:
		report("an entry cannot be its own admin; name the vendor's role: admin entry")
	}
}

// ResolveAdmin is the lease spec of the admin entry env of vendor, for
// keylease's own admin client only (rotate, revoke, minted leases): exec
// refuses admin entries, so this is the one way to lease one.
func (c *Config) ResolveAdmin(vendor, env string) (LeaseSpec, error) {
	e, ok := c.Registry.Entry(vendor, env)
	if !ok || !e.IsAdmin() {
		return LeaseSpec{}, fmt.Errorf("%s.%s is not an admin entry in %s; set role: admin there or fix rotation.admin", ShownName("--vendor", vendor), ShownName("--env", env), c.RegistryPath)
	}
	if e.Revoked {
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonRevoked,
			Hint: fmt.Sprintf("put a new admin key in and clear revoked in %s (line %d)", c.RegistryPath, e.Line)}
	}
	ttl, err := c.capped(e.TTL(), env, vendor, "")
	if err != nil {
		return LeaseSpec{}, err
	}
	return LeaseSpec{Vendor: vendor, Env: env, Ref: e.Ref, Scope: append([]string(nil), e.Scope...), TTL: ttl,
		EnvVar: EnvVarFor(vendor) + "_ADMIN", RequiredPrefix: c.Policy.RequiredPrefix[vendor]}, nil
}
