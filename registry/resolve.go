package registry

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// LeaseSpec is everything a lease needs, value-free: which secret, for whom,
// for how long, into which variable.
type LeaseSpec struct {
	Vendor, Env    string // Vendor is "" for a --ref not in the registry
	Ref            Ref
	Scope          []string
	TTL            time.Duration // registry max_ttl_seconds (already <= policy cap), or the cap for an unregistered --ref
	EnvVar         string        // OPENAI_API_KEY / ANTHROPIC_API_KEY / XAI_API_KEY / <NAME>_API_KEY / explicit
	RequiredPrefix string        // from policy, "" if none

	// Mode is ModeStored ("" too), ModeMinted or ModeFederated; Admin and
	// ProjectID (minted) and Federation (federated) come from the entry.
	Mode       string
	Admin      string
	ProjectID  string
	Federation *Federation
}

// Refusal reasons of a RefusedError.
const (
	ReasonNotAllowed = "not in allowed_secrets"
	ReasonNoEntry    = "no registry entry"
	ReasonRevoked    = "revoked"
	ReasonNoCap      = "no ttl cap"
	ReasonOtherEnv   = "registered for another environment"
	ReasonAdmin      = "admin entry"
	ReasonMode       = "mode not supported by the vendor"
	ReasonStore      = "store not allowed in this environment"
)

// RefusedError is a lease the policy or the registry refuses (exit 3).
type RefusedError struct {
	Vendor, Env string
	Ref         string // the ref when the request was a --ref
	Reason      string // one of the Reason constants
	Hint        string // what to do
}

func (e *RefusedError) Error() string {
	what := ShownName("--vendor", e.Vendor)
	if e.Ref != "" {
		what = "ref " + ShownName("--ref", e.Ref)
	}
	return fmt.Sprintf("lease of %s in %s refused: %s; %s", what, ShownName("--env", e.Env), e.Reason, e.Hint)
}

// plainName is text safe to print as it is: a name, a label or a parsed ref,
// with nothing a terminal or the runner's command parser would act on.
var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/#+=@-]{0,511}$`)

// ShownName is how a user-given name (a vendor, an environment, a ref) may
// appear in a message: as it is when plain; a placeholder naming the flag and
// the detector when it looks like a secret value (a key pasted into the
// wrong flag must not be printed by the error that refuses it); else quoted.
func ShownName(flag, s string) string {
	if det, ok := LooksLikeValue(s); ok {
		return fmt.Sprintf("[the %s value, not shown: it looks like a key (%s detector)]", flag, det)
	}
	if plainName.MatchString(s) {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// envName is the schema's envName: the environments a registry may hold.
var envName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidEnvName reports whether s can name a registry environment (a lowercase
// letter, then up to 31 of a-z, 0-9, '_' and '-').
func ValidEnvName(s string) bool { return envName.MatchString(s) }

// ErrInvalidEnvVar is wrapped by errors about an unusable variable name.
var ErrInvalidEnvVar = errors.New("invalid environment variable name")

// Resolve turns "vendor in env" into a LeaseSpec, refusing (with a
// *RefusedError) a vendor outside allowed_secrets, a missing entry and a
// revoked one.
func (c *Config) Resolve(vendor, env string) (LeaseSpec, error) {
	if det, ok := LooksLikeValue(vendor); ok {
		// Refused (and recorded, so the record scan reports the leak) without
		// a hint that would repeat the name.
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonNotAllowed,
			Hint: fmt.Sprintf("--vendor takes a vendor name such as openai, and this one looks like a key (%s detector): treat that key as exposed, revoke and rotate it", det)}
	}
	if !c.Policy.Allowed(vendor) {
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonNotAllowed,
			Hint: fmt.Sprintf("add %s to allowed_secrets in %s if it may be leased", ShownName("--vendor", vendor), c.PolicyPath)}
	}
	e, ok := c.Registry.Entry(vendor, env)
	if !ok {
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonNoEntry,
			Hint: fmt.Sprintf("add %s.%s to %s or pick another --env", ShownName("--vendor", vendor), ShownName("--env", env), c.RegistryPath)}
	}
	if e.Revoked {
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonRevoked,
			Hint: fmt.Sprintf("rotate a new value in and clear revoked in %s (line %d)", c.RegistryPath, e.Line)}
	}
	if err := leasable(e, c.RegistryPath); err != nil {
		return LeaseSpec{}, err
	}
	if why := c.Policy.StoreAllowed(e.Ref, env); why != "" {
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonStore, Hint: why}
	}
	if why := c.adminStoreAllowed(e, env); why != "" {
		return LeaseSpec{}, &RefusedError{Vendor: vendor, Env: env, Reason: ReasonStore, Hint: why}
	}
	ttl, err := c.capped(e.TTL(), env, vendor, "")
	if err != nil {
		return LeaseSpec{}, err
	}
	spec := LeaseSpec{
		Vendor: vendor, Env: env, Ref: e.Ref, Scope: append([]string(nil), e.Scope...), TTL: ttl,
		EnvVar: EnvVarFor(vendor), RequiredPrefix: c.Policy.RequiredPrefix[vendor],
		Mode: e.Mode, Admin: e.Admin, ProjectID: e.ProjectID,
	}
	if e.Federation != nil {
		f := *e.Federation
		spec.Federation = &f
	}
	if spec.Mode == ModeFederated && vendor == "anthropic" {
		// Anthropic's SDKs read an OAuth token from ANTHROPIC_AUTH_TOKEN and
		// send it as a bearer token; ANTHROPIC_API_KEY goes out as x-api-key.
		spec.EnvVar = "ANTHROPIC_AUTH_TOKEN"
	}
	return spec, nil
}

// capped applies the policy cap; load-time validation already guarantees it,
// this keeps Resolve safe on a hand-built Config.
func (c *Config) capped(ttl time.Duration, env, vendor, ref string) (time.Duration, error) {
	limit, ok := c.Policy.TTLCap(env)
	if !ok {
		return 0, &RefusedError{Vendor: vendor, Env: env, Ref: ref, Reason: ReasonNoCap,
			Hint: fmt.Sprintf("add %s to ttl_caps_seconds in %s", ShownName("--env", env), c.PolicyPath)}
	}
	if ttl <= 0 || ttl > limit {
		return limit, nil
	}
	return ttl, nil
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ResolveRef turns `--ref VAR=REF` into a LeaseSpec. A registry entry of env
// that names the same secret supplies vendor, scope, TTL and prefix; a
// secret registered only for another environment, or revoked anywhere, is
// refused; an unregistered ref gets the policy cap of env as TTL.
func (c *Config) ResolveRef(envVar, raw, env string) (LeaseSpec, error) {
	if det, bad := LooksLikeValue(envVar); bad {
		return LeaseSpec{}, fmt.Errorf("%w [looks like a secret value (%s detector), not shown]: --ref NAME=REF takes a variable name before '='; rotate that value, it has been exposed", ErrInvalidEnvVar, det)
	}
	if !envVarName.MatchString(envVar) {
		shown := fmt.Sprintf("%q", envVar)
		return LeaseSpec{}, fmt.Errorf("%w %s: use letters, digits and '_', not starting with a digit (--ref NAME=REF)", ErrInvalidEnvVar, shown)
	}
	ref, err := ParseRef(raw, c.Policy)
	if err != nil {
		return LeaseSpec{}, err
	}
	if why := c.Policy.StoreAllowed(ref, env); why != "" {
		return LeaseSpec{}, &RefusedError{Env: env, Ref: ref.Raw, Reason: ReasonStore, Hint: why}
	}
	var match *Entry
	var other []string
	for _, e := range c.Registry.Entries() {
		if !sameSecret(e.Ref, ref) {
			continue
		}
		if e.Revoked {
			return LeaseSpec{}, &RefusedError{Env: env, Ref: ref.Raw, Reason: ReasonRevoked,
				Hint: fmt.Sprintf("the secret is registered as %s.%s and revoked there (%s line %d); use a rotated ref", e.Vendor, e.Env, c.RegistryPath, e.Line)}
		}
		if err := leasable(e, c.RegistryPath); err != nil {
			err.Ref, err.Env = ref.Raw, env
			return LeaseSpec{}, err
		}
		if e.Env == env {
			match = e
		} else {
			other = append(other, e.Vendor+"."+e.Env)
		}
	}
	if match == nil && len(other) > 0 {
		return LeaseSpec{}, &RefusedError{Env: env, Ref: ref.Raw, Reason: ReasonOtherEnv,
			Hint: fmt.Sprintf("the secret is registered as %s; keep credentials separate per environment (SL5) or lease it with that --env", strings.Join(other, ", "))}
	}
	spec := LeaseSpec{Env: env, Ref: ref, EnvVar: envVar}
	if match != nil {
		if !c.Policy.Allowed(match.Vendor) {
			return LeaseSpec{}, &RefusedError{Vendor: match.Vendor, Env: env, Ref: ref.Raw, Reason: ReasonNotAllowed,
				Hint: fmt.Sprintf("add %q to allowed_secrets in %s if it may be leased", match.Vendor, c.PolicyPath)}
		}
		spec.Vendor, spec.Scope = match.Vendor, append([]string(nil), match.Scope...)
		spec.RequiredPrefix = c.Policy.RequiredPrefix[match.Vendor]
		spec.TTL = match.TTL()
	}
	spec.TTL, err = c.capped(spec.TTL, env, spec.Vendor, ref.Raw)
	if err != nil {
		return LeaseSpec{}, err
	}
	return spec, nil
}

// vendorEnvVars are the variables vendors' SDKs read by default.
var vendorEnvVars = map[string]string{
	"openai":    "OPENAI_API_KEY",
	"anthropic": "ANTHROPIC_API_KEY",
	"xai":       "XAI_API_KEY",
}

// EnvVarFor is the variable a vendor's key is leased into: the vendor SDK's
// convention, else <NAME>_API_KEY with NAME ASCII upper-cased, every
// character outside A-Z0-9_ replaced by '_' and a leading digit prefixed
// with '_'.
func EnvVarFor(vendor string) string {
	if v, ok := vendorEnvVars[vendor]; ok {
		return v
	}
	var b strings.Builder
	for _, c := range vendor {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	return name + "_API_KEY"
}

// ResolveAll resolves every --vendor and --ref of one lease in env. A policy
// or registry refusal does not stop it: every refusal is returned so the
// record can list them; any other problem is returned as the error. A ref
// given without ENVVAR= takes the variable of the registry entry that holds
// it (RefVendorVar).
func (c *Config) ResolveAll(vendors, refs []string, env string) ([]LeaseSpec, []*RefusedError, error) {
	var specs []LeaseSpec
	var refused []*RefusedError
	add := func(s LeaseSpec, err error) error {
		var re *RefusedError
		switch {
		case errors.As(err, &re):
			refused = append(refused, re)
		case err != nil:
			return err
		default:
			specs = append(specs, s)
		}
		return nil
	}
	for _, v := range vendors {
		if err := add(c.Resolve(v, env)); err != nil {
			return nil, nil, err
		}
	}
	for _, r := range refs {
		name, ref := SplitRefArg(r)
		if name == "" {
			s, err := c.RefVendorVar(ref, env)
			if err != nil {
				return nil, nil, err
			}
			name = s
		}
		if err := add(c.ResolveRef(name, ref, env)); err != nil {
			return nil, nil, err
		}
	}
	return specs, refused, nil
}

// SplitRefArg splits a --ref argument into its variable and its ref. There is
// no variable ("") when the argument has no '=' or what precedes the first
// '=' holds "://" (the '=' is then part of the ref).
func SplitRefArg(arg string) (envVar, ref string) {
	name, ref, ok := strings.Cut(arg, "=")
	if !ok || strings.Contains(name, "://") {
		return "", arg
	}
	return name, ref
}

// RefVendorVar finds the variable of a bare --ref: the vendor convention of
// the registry entry of env that holds the same secret.
func (c *Config) RefVendorVar(raw, env string) (string, error) {
	ref, err := ParseRef(raw, c.Policy)
	if err != nil {
		return "", err
	}
	for _, e := range c.Registry.Entries() {
		if e.Env == env && e.Ref.Store() == ref.Store() && e.Ref.SecretID == ref.SecretID && e.Ref.JSONKey == ref.JSONKey && e.Ref.Mount == ref.Mount && e.Ref.Account == ref.Account {
			return EnvVarFor(e.Vendor), nil
		}
	}
	return "", fmt.Errorf("--ref %s has no ENVVAR= and no registry entry in %s names its variable; write --ref NAME=%s", ref.Raw, env, ref.Raw)
}

// leasable refuses what exec must never hand a command: an admin key (used by
// keylease itself only) and a mode its vendor does not support (check
// reports that too; this keeps a hand-built Config safe).
func leasable(e *Entry, registryPath string) *RefusedError {
	if e.IsAdmin() {
		return &RefusedError{Vendor: e.Vendor, Env: e.Env, Reason: ReasonAdmin,
			Hint: fmt.Sprintf("%s.%s (%s line %d) holds a vendor admin key, which keylease uses itself and never gives a command; lease a non-admin entry", e.Vendor, e.Env, registryPath, e.Line)}
	}
	if !SupportsMode(e.Vendor, e.Mode) {
		return &RefusedError{Vendor: e.Vendor, Env: e.Env, Reason: ReasonMode,
			Hint: fmt.Sprintf("%s.%s (%s line %d) has mode %s, which %s does not support (%s); use another mode", e.Vendor, e.Env, registryPath, e.Line, e.Mode, e.Vendor, ModeSupport(e.Mode))}
	}
	return nil
}
