package registry

import (
	"fmt"
	"slices"
	"strings"
)

// StoreBackend is the policy's backends.<store> for a store other than
// Secrets Manager (env, vault, op, keychain): the environments whose leases
// may read it, and for vault how keylease logs in.
type StoreBackend struct {
	Environments []string
	// vault only: the JWT auth role, the auth method's mount (default
	// "jwt") and the audience of the OIDC token keylease logs in with
	// (default "vault").
	Role, AuthMount, Audience string
}

// Default Vault login settings where backends.vault gives none.
const (
	DefaultVaultAuthMount = "jwt"
	DefaultVaultAudience  = "vault"
)

// Store is backends.<name> and whether the policy has it.
func (p *Policy) Store(name string) (StoreBackend, bool) {
	if p == nil || p.Backends.Stores == nil {
		return StoreBackend{}, false
	}
	b, ok := p.Backends.Stores[name]
	return b, ok
}

// StoreAllowed says why ref may not be leased in env ("" when it may). Secrets
// Manager refs are always allowed; any other store only in the environments
// of its backends.<store>.environments, and keychain:// only in local (a
// runner has no user keychain, and a CI job must not read a developer's).
func (p *Policy) StoreAllowed(ref Ref, env string) string {
	store := ref.Store()
	if store == StoreSecretsManager {
		return ""
	}
	if store == StoreKeychain && env != "local" {
		return fmt.Sprintf("keychain:// refs are for local runs only (--env local), not %s; store the key in AWS Secrets Manager for %s", ShownName("--env", env), ShownName("--env", env))
	}
	b, ok := p.Store(store)
	if !ok || !slices.Contains(b.Environments, env) {
		return fmt.Sprintf("the policy does not allow %s:// refs in %s; add %s to backends.%s.environments in the policy if it may, or use a kv:// ref", store, ShownName("--env", env), ShownName("--env", env), store)
	}
	return ""
}

// Transitional reports whether e's key is still a long-lived GitHub secret
// (an env:// ref: the workflow maps ${{ secrets.X }} into keylease's
// environment), and if so the steps that move it into Secrets Manager.
func Transitional(e *Entry) (string, bool) {
	if e == nil || e.Ref.Store() != StoreEnv {
		return "", false
	}
	name := e.Ref.SecretID
	target := e.Vendor + "/" + e.Env + "/api_key"
	return fmt.Sprintf("transitional: %s.%s reads the GitHub secret mapped into %s (a long-lived key stored in GitHub); move it into Secrets Manager from a job that maps it (env: %s: ${{ secrets.%s }}): "+
		`aws secretsmanager create-secret --name %s --secret-string "$%s"`+
		", then set secret_ref: kv://%s and delete the GitHub secret (gh secret delete %s)",
		e.Vendor, e.Env, name, name, name, target, name, target, name), true
}

// storeBackendsFromTree reads backends.<store> for the stores besides kv.
func storeBackendsFromTree(b map[string]any) map[string]StoreBackend {
	out := map[string]StoreBackend{}
	for name := range storeParsers {
		m, ok := b[name].(map[string]any)
		if !ok {
			continue
		}
		var sb StoreBackend
		if l, ok := m["environments"].([]any); ok {
			for _, v := range l {
				if s, ok := v.(string); ok {
					sb.Environments = append(sb.Environments, s)
				}
			}
		}
		if name == StoreVault {
			sb.Role, _ = m["role"].(string)
			sb.AuthMount, _ = m["auth_mount"].(string)
			sb.Audience, _ = m["audience"].(string)
			if sb.AuthMount == "" {
				sb.AuthMount = DefaultVaultAuthMount
			}
			if sb.Audience == "" {
				sb.Audience = DefaultVaultAudience
			}
		}
		out[name] = sb
	}
	return out
}

// checkStoreBackends applies the rules of backends.<store> the schema cannot
// express: keychain only in local, and a Vault audience that is not AWS's.
func checkStoreBackends(t *tree, p *Policy) {
	if v, ok := p.Store(StoreVault); ok && v.Audience == awsAudience {
		fp := ptrOf(ptrOf("/backends", StoreVault), "audience")
		if !t.hit[fp] && !t.suppressed(fp) {
			t.addAt(fp, "is AWS STS's audience, which keylease's own session uses; Vault would receive a token that can assume the role: use Vault's own audience (the default is vault)")
		}
	}
	b, ok := p.Store(StoreKeychain)
	if !ok {
		return
	}
	for _, env := range b.Environments {
		if env != "local" {
			fp := ptrOf(ptrOf("/backends", StoreKeychain), "environments")
			if !t.hit[fp] && !t.suppressed(fp) {
				t.addAt(fp, fmt.Sprintf("lists %s, but keychain:// is for local runs only; list only local", ShownName("--env", env)))
			}
			return
		}
	}
}

// checkStoreEntries applies the rules between an entry's store and its
// other keys: rotation writes new versions to Secrets Manager, so a rotated
// entry must name a Secrets Manager secret.
func checkStoreEntries(t *tree, r *Registry) {
	for _, e := range r.entries {
		if e.Rotation == nil || e.Ref.Raw == "" || e.Ref.Store() == StoreSecretsManager {
			continue
		}
		fp := ptrOf(ptrOf(ptrOf("", e.Vendor), e.Env), "rotation")
		if !t.hit[fp] && !t.suppressed(fp) {
			t.addAt(fp, "rotation writes new versions to Secrets Manager, and secret_ref names "+e.Ref.Store()+"://; move the key to a kv:// or aws-sm:// ref, or remove rotation")
		}
	}
}

// adminStoreAllowed says why the admin key of minted entry e may not be read
// in e's environment ("" when it may): the key is read during e's lease, so
// its store must be allowed there too, not only in the admin entry's own
// environment (a keychain:// admin key would otherwise be read under CI).
func (c *Config) adminStoreAllowed(e *Entry, env string) string {
	if e.Mode != ModeMinted || e.Admin == "" {
		return ""
	}
	a, ok := c.Registry.Entry(e.Vendor, e.Admin)
	if !ok || a.Ref.Raw == "" {
		return ""
	}
	if why := c.Policy.StoreAllowed(a.Ref, env); why != "" {
		return fmt.Sprintf("its admin key (%s.%s, %s) is read during this lease: %s", e.Vendor, e.Admin, a.Ref.Raw, why)
	}
	return ""
}

// checkAdminStores reports each minted entry whose admin key's store the
// policy does not allow in the minted entry's environment.
func checkAdminStores(t *tree, c *Config) {
	for _, e := range c.Registry.entries {
		fp := ptrOf(ptrOf(ptrOf("", e.Vendor), e.Env), "admin")
		if t.hit[fp] || t.suppressed(fp) {
			continue
		}
		if why := c.adminStoreAllowed(e, e.Env); why != "" {
			t.addAt(fp, why)
		}
	}
}

// awsAudience is the OIDC audience AWS STS expects by default (exec's
// --audience default).
const awsAudience = "sts.amazonaws.com"

// checkFederationAudiences reports a federation whose audience is one
// keylease logs in with itself (AWS STS's default, backends.vault.audience):
// the vendor would receive a token good for that login too.
func checkFederationAudiences(t *tree, c *Config) {
	vault, hasVault := c.Policy.Store(StoreVault)
	for _, e := range c.Registry.entries {
		f := e.Federation
		if f == nil || f.Audience == "" {
			continue
		}
		fp := ptrOf(ptrOf(ptrOf(ptrOf("", e.Vendor), e.Env), "federation"), "audience")
		if t.hit[fp] || t.suppressed(fp) {
			continue
		}
		switch {
		case f.Audience == awsAudience:
			t.addAt(fp, "is AWS STS's audience, which keylease's own session uses; a token sent to the vendor for it could assume the role: give the vendor's federation rule an audience of its own")
		case hasVault && f.Audience == vault.Audience:
			t.addAt(fp, "is backends.vault.audience, which keylease's Vault login uses; give the vendor's federation rule an audience of its own")
		}
	}
}

// storeNames lists the stores besides Secrets Manager, for hints.
func storeNames() string {
	names := make([]string, 0, len(storeParsers))
	for n := range storeParsers {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
