package lease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/store"
	envstore "github.com/keylease/keylease/store/env"
	keychainstore "github.com/keylease/keylease/store/keychain"
	opstore "github.com/keylease/keylease/store/op"
	vaultstore "github.com/keylease/keylease/store/vault"
)

// The stores besides Secrets Manager are read here, one ref at a time, by
// the store its scheme names; Secrets Manager refs keep exchange's batched
// fetch. The lease around them (masking, record, deadline) is the same.

// storeState is what a lease keeps of its other stores: those opened (to
// release their credentials at the end) and the variables an env:// value
// came from (which the child does not get).
type storeState struct {
	open    map[string]store.Store
	sources []string
}

// releaseTimeout bounds giving up a store's credential at the lease's end.
const releaseTimeout = 10 * time.Second

// fetchAll reads every spec's value, in spec order: Secrets Manager refs
// through fetch, the others through their stores, each value registered
// with the maskers before anything else sees it. at[j] is specs[j]'s index
// in the record, or -1 (a minted entry's admin key, not in the record).
func (l *Lease) fetchAll(ctx context.Context, specs []registry.LeaseSpec, at []int) ([]leased, error) {
	var sm []registry.LeaseSpec
	for _, s := range specs {
		if s.Ref.Store() == registry.StoreSecretsManager {
			sm = append(sm, s)
		}
	}
	var fromSM []leased
	var errs []error
	if len(sm) > 0 {
		got, err := fetch(ctx, l.awsCfg, sm, l.register)
		fromSM = got
		if err != nil {
			errs = append(errs, err)
		}
	}
	out := make([]leased, 0, len(specs))
	for i, s := range specs {
		if s.Ref.Store() == registry.StoreSecretsManager {
			if len(fromSM) > 0 && fromSM[0].spec.Ref.Raw == s.Ref.Raw && fromSM[0].spec.EnvVar == s.EnvVar {
				out = append(out, fromSM[0])
				fromSM = fromSM[1:]
			}
			continue
		}
		if at[i] >= 0 {
			l.rec.Leases[at[i]].Source = s.Ref.Store() // also when it fails: the record says which store did
		}
		v, vid, err := l.fetchStored(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, leased{spec: s, value: v, vid: vid, issued: time.Now()})
	}
	for _, ls := range out {
		if ls.spec.Ref.Store() == registry.StoreEnv {
			l.st.sources = append(l.st.sources, ls.spec.Ref.SecretID)
		}
	}
	if len(errs) == 0 && len(out) != len(specs) {
		errs = append(errs, errors.New("the secret stores returned fewer values than refs"))
	}
	return out, errors.Join(errs...)
}

// fetchStored reads one ref of a store other than Secrets Manager, checks
// it as exchange checks a Secrets Manager value, and registers it.
func (l *Lease) fetchStored(ctx context.Context, s registry.LeaseSpec) (secret.Value, string, error) {
	st, err := l.openStore(ctx, s.Ref)
	if err != nil {
		return secret.Value{}, "", err
	}
	v, vid, err := st.Fetch(ctx, s.Ref)
	if err != nil {
		v.Wipe()
		return secret.Value{}, "", err
	}
	// Registered before it is checked: an error path may yet print it.
	if err := l.register(v); err != nil {
		v.Wipe()
		return secret.Value{}, "", fmt.Errorf("%s: %w", s.Ref.Raw, err)
	}
	if err := store.Check(s.Ref.Store(), s.Ref.Raw, v, s.RequiredPrefix, s.Vendor); err != nil {
		return secret.Value{}, "", err
	}
	return v, vid, nil
}

// openStore returns the lease's store for ref, opening it the first time.
func (l *Lease) openStore(_ context.Context, ref registry.Ref) (store.Store, error) {
	name := ref.Store()
	if st, ok := l.st.open[name]; ok {
		return st, nil
	}
	if err := l.registerStoreCredentials(name); err != nil {
		return nil, err
	}
	var st store.Store
	switch name {
	case registry.StoreEnv:
		st = envstore.New(l.io.Getenv)
	case registry.StoreOP:
		st = opstore.New(l.io.Environ)
	case registry.StoreKeychain:
		st = keychainstore.New()
	case registry.StoreVault:
		b, _ := l.cfg.Policy.Store(registry.StoreVault)
		st = vaultstore.New(vaultstore.Options{Backend: b, JWT: l.vaultJWT, LocalToken: l.io.Getenv("VAULT_TOKEN"), OnToken: l.registerOwn})
	default:
		return nil, store.NewError(name, ref.Raw, store.CodeUnavailable, "this build of keylease cannot read "+name+":// refs", "use a kv:// ref", nil)
	}
	if l.st.open == nil {
		l.st.open = map[string]store.Store{}
	}
	l.st.open[name] = st
	return st, nil
}

// vaultJWT is the job's OIDC token for Vault's audience, verified as the
// STS one is and registered with the maskers; ok is false without an OIDC
// endpoint outside GitHub Actions (a local run may use VAULT_TOKEN).
func (l *Lease) vaultJWT(ctx context.Context, audience string) (secret.Value, bool, error) {
	if !exchange.HasOIDCEnv(l.io.Getenv) && !l.onActions {
		return secret.Value{}, false, nil
	}
	if audience == l.awsAudience() {
		return secret.Value{}, false, store.NewError(registry.StoreVault, "login", store.CodeRefused,
			"backends.vault.audience "+registry.ShownName("audience", audience)+" is the audience of keylease's AWS session (--audience): Vault would receive a token that can assume the role",
			"give Vault's JWT role an audience of its own (default vault) and set backends.vault.audience to it", nil)
	}
	tok, _, err := l.oidcToken(ctx, audience)
	if err != nil {
		return secret.Value{}, false, err
	}
	return tok, true, nil
}

// releaseStores gives up what the stores hold (a Vault token) once the
// lease has ended; a failure is reported, sanitized, and changes no exit.
func (l *Lease) releaseStores() {
	for name, st := range l.st.open {
		r, ok := st.(store.Releaser)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		if err := r.Release(ctx); err != nil {
			fmt.Fprintf(l.io.Stderr, "keylease: %s: giving up the store's credential failed: %s\n", name, l.guard.Line(err.Error()))
		}
		cancel()
	}
	l.st.open = nil
}

// registerStoreCredentials registers with the maskers the values of the
// variables through which keylease's own access to store reaches it: the
// ones withoutSources keeps from the child (storeCredentials and, by
// prefix, storeCredentialPrefixes).
func (l *Lease) registerStoreCredentials(name string) error {
	for _, k := range storeCredentials[name] {
		if err := l.registerOwn(secret.FromString(l.io.Getenv(k))); err != nil {
			return err
		}
	}
	if prefixes := storeCredentialPrefixes[name]; len(prefixes) > 0 {
		for _, kv := range l.io.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			if hasAnyPrefix(envKey(k), prefixes) {
				if err := l.registerOwn(secret.FromString(v)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// storeCredentials are the variables through which keylease's own access to
// a store reaches it; the child does not get the one of a store it used.
var storeCredentials = map[string][]string{
	registry.StoreOP:    {opstore.TokenVar, "OP_CONNECT_TOKEN"},
	registry.StoreVault: {"VAULT_TOKEN"},
}

// storeCredentialPrefixes are such variables by prefix: `op signin` exports
// a session token as OP_SESSION_<account>.
var storeCredentialPrefixes = map[string][]string{
	registry.StoreOP: {"OP_SESSION_"},
}

// withoutSources drops from the parent's environment what the child must
// not inherit because of the stores: each env:// value's source variable
// and every registry entry's (the child has a value under the leased name
// only), the action's secrets-env list, and the credentials of the stores
// this lease used.
func (l *Lease) withoutSources(parent []string) []string {
	drop := map[string]bool{envKey(envstore.SecretsEnvVar): true}
	for _, s := range l.st.sources {
		drop[envKey(s)] = true
	}
	// The registry declares every env:// source a vendor key, leased or not
	// in this run: a secret mapped into the step for another entry is not
	// the child's either.
	if l.cfg != nil {
		for _, e := range l.cfg.Registry.Entries() {
			if e.Ref.Store() == registry.StoreEnv && e.Ref.SecretID != "" {
				drop[envKey(e.Ref.SecretID)] = true
			}
		}
	}
	var prefixes []string
	for name := range l.st.open {
		for _, k := range storeCredentials[name] {
			drop[envKey(k)] = true
		}
		prefixes = append(prefixes, storeCredentialPrefixes[name]...)
	}
	for k := range l.Values() {
		delete(drop, envKey(k)) // the leased name itself is set by childEnv
	}
	out := make([]string, 0, len(parent))
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		if drop[envKey(k)] || hasAnyPrefix(envKey(k), prefixes) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// isTrue reads a CI flag as CI systems set it: true, True, TRUE or 1.
func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

func hasAnyPrefix(k string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// refuseUnderCI refuses keychain:// refs on a CI runner whatever --env says:
// a runner has no user keychain, and a job must never read a developer's.
func (l *Lease) refuseUnderCI() error {
	ci := l.onActions || isTrue(os.Getenv("CI")) || isTrue(l.io.Getenv("CI"))
	if !ci {
		return nil
	}
	for _, s := range l.specs {
		if s.Ref.Store() == registry.StoreKeychain {
			return store.NewError(registry.StoreKeychain, s.Ref.Raw, store.CodeRefused, "keychain:// refs are refused under CI (GITHUB_ACTIONS is true, or CI is true or 1)", "lease a kv:// ref in CI; keychain:// is for local runs", nil)
		}
	}
	return nil
}
