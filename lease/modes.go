package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/mintname"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// The lease modes beyond stored:
//
//   - minted: keylease fetches the entry's admin key (an ordinary stored
//     fetch, for keylease only), creates a key for this lease at the vendor
//     under a mintname name, hands that to the child, and deletes it when the
//     lease ends, on every path through Finish (and Close, should Finish not
//     run). The admin key is registered with every masker, kept out of the
//     leases (so out of the child's environment and the record), and wiped
//     once the deletion is done.
//   - federated: keylease requests an OIDC token with the entry's audience
//     and exchanges it at the vendor for a short-lived access token. Nothing
//     is stored, minted or deleted; a lease of federated entries only makes
//     no AWS call at all.

// ReleaseTimeout bounds the deletion of the keys a lease minted. It runs on
// a context that a signal does not cancel: SIGTERM is exactly when the key
// must still go.
const ReleaseTimeout = 30 * time.Second

// MintGrace is how long a create call already sent may still run after a
// signal: its answer names the key to delete.
const MintGrace = 5 * time.Second

// SessionNone is the record's session source when no AWS session was needed
// (every lease federated).
const SessionNone = "none"

// keyMinter creates a key and deletes it again (vendorapi.OpenAIProject,
// vendorapi.XAITeam).
type keyMinter interface {
	vendorapi.Minter
	vendorapi.Disabler
}

// liveWaiter is a minter whose new keys are not usable everywhere at once
// (xAI): the key is handed out only after WaitLive.
type liveWaiter interface {
	WaitLive(ctx context.Context, id string) (int, error)
}

// modeLease is what one minted or federated lease holds beyond its value.
type modeLease struct {
	mode string
	// federated
	tokenExp time.Time
	identity *exchange.Identity
	// minted
	name, vendorID, keyID string
	del                   vendorapi.Disabler
	deletedAt             time.Time
	deleteErr             string // sanitized
}

// modeState is the minted and federated part of one Lease.
type modeState struct {
	byIdx    map[int]*modeLease // index into Lease.specs
	admins   []secret.Value     // wiped by release
	bounds   []time.Time        // token expiries and minted names' expiries
	release  context.Context    // not cancelled by a signal
	released bool
}

func isStored(s registry.LeaseSpec) bool {
	return s.Mode == "" || s.Mode == registry.ModeStored
}

// needsAWS reports whether any spec reads Secrets Manager (a stored value,
// or a minted entry's admin key, with a Secrets Manager ref), or there is no
// spec at all: a lifecycle command calls Session for the AWS session alone.
// A lease of federated entries and other stores' refs alone obtains none (a
// workflow migrating from GitHub secrets may have no role yet).
func (l *Lease) needsAWS() bool {
	if len(l.specs) == 0 {
		return true
	}
	for _, s := range l.specs {
		switch {
		case s.Mode == registry.ModeFederated:
		case s.Mode == registry.ModeMinted:
			as, err := l.cfg.ResolveAdmin(s.Vendor, s.Admin)
			if err != nil || as.Ref.Store() == registry.StoreSecretsManager {
				return true
			}
		case s.Ref.Store() == registry.StoreSecretsManager:
			return true
		}
	}
	return false
}

// skipSession stands in for the AWS session when every lease is federated.
func (l *Lease) skipSession() error {
	l.rec.Session = &record.Session{Source: SessionNone}
	l.rn.debugf("no aws session: no lease reads Secrets Manager")
	return nil
}

// acquire obtains every spec's value in spec order: the stored ones and the
// minted entries' admin keys in one Secrets Manager fetch, then the
// federated tokens, then the minted keys (last, so that a failure before
// them leaves nothing to delete). Every value is registered before it is
// returned; a key minted before a failure is deleted by release.
func (l *Lease) acquire(ctx context.Context) ([]leased, error) {
	st := &l.modes
	st.release = context.WithoutCancel(ctx)
	st.byIdx = map[int]*modeLease{}
	var stored []registry.LeaseSpec
	var storedAt []int          // index into l.specs, -1 for an admin key
	adminAt := map[string]int{} // vendor.admin -> index into stored
	for i, s := range l.specs {
		switch {
		case isStored(s):
			stored, storedAt = append(stored, s), append(storedAt, i)
		case s.Mode == registry.ModeMinted:
			k := s.Vendor + "." + s.Admin
			if _, ok := adminAt[k]; ok {
				continue
			}
			as, err := l.cfg.ResolveAdmin(s.Vendor, s.Admin)
			if err != nil {
				return nil, fmt.Errorf("minted lease of %s.%s: its admin entry: %w", s.Vendor, s.Env, err)
			}
			adminAt[k] = len(stored)
			stored, storedAt = append(stored, as), append(storedAt, -1)
		}
	}
	out := make([]leased, len(l.specs))
	admins := map[string]secret.Value{}
	if len(stored) > 0 {
		got, err := l.fetchAll(ctx, stored, storedAt) // Secrets Manager and the other stores: stores.go
		if err != nil {
			for _, g := range got {
				g.value.Wipe()
			}
			return nil, err
		}
		// fetch returned every value, in stored's order.
		for j, g := range got {
			if storedAt[j] >= 0 {
				out[storedAt[j]] = g
			} else {
				st.admins = append(st.admins, g.value)
			}
		}
		for k, j := range adminAt {
			admins[k] = got[j].value
		}
	}
	for i, s := range l.specs {
		if s.Mode != registry.ModeFederated {
			continue
		}
		ls, err := l.federate(ctx, i, s)
		if err != nil {
			return out, err
		}
		out[i] = ls
	}
	for i, s := range l.specs {
		if s.Mode != registry.ModeMinted {
			continue
		}
		ls, err := l.mint(ctx, i, s, admins[s.Vendor+"."+s.Admin])
		if err != nil {
			return out, err
		}
		out[i] = ls
	}
	return out, nil
}

// federate requests an OIDC token for the entry's audience and exchanges it
// at the vendor.
func (l *Lease) federate(ctx context.Context, i int, s registry.LeaseSpec) (leased, error) {
	what := s.Vendor + "." + s.Env
	f := s.Federation
	if f == nil {
		return leased{}, fmt.Errorf("federated lease of %s: the entry has no federation block; add one to %s", what, l.cfg.RegistryPath)
	}
	if use := l.ownAudience(f.Audience); use != "" {
		// A token for that audience in the vendor's hands would be a
		// credential for keylease's own session there.
		return leased{}, fmt.Errorf("federated lease of %s: its federation audience %s is the audience of %s; a token sent to %s for it could be used there too: give the vendor's federation rule an audience of its own and set it in %s",
			what, registry.ShownName("audience", f.Audience), use, s.Vendor, l.cfg.RegistryPath)
	}
	jwt, id, err := l.oidcToken(ctx, f.Audience)
	if err != nil {
		return leased{}, fmt.Errorf("federated lease of %s: the OIDC token for audience %s: %w", what, registry.ShownName("audience", f.Audience), err)
	}
	defer jwt.Wipe()
	fed, err := l.federator(s)
	if err != nil {
		return leased{}, err
	}
	tok, err := fed.Exchange(ctx, jwt)
	if err != nil {
		return leased{}, fmt.Errorf("federated lease of %s: %s refused the OIDC token (sub %s, aud %s): %w; check that federation rule %s accepts this subject and audience",
			what, s.Vendor, registry.ShownName("sub", id.Subject), registry.ShownName("aud", id.Audience), err, registry.ShownName("rule_id", f.RuleID))
	}
	if err := l.register(tok.Value); err != nil {
		tok.Value.Wipe()
		return leased{}, err
	}
	if err := checkIssued(s, tok.Value, "federated token"); err != nil {
		tok.Value.Wipe()
		return leased{}, err
	}
	if !tok.Expires.IsZero() {
		l.modes.bounds = append(l.modes.bounds, tok.Expires)
	}
	l.modes.byIdx[i] = &modeLease{mode: registry.ModeFederated, tokenExp: tok.Expires, identity: id}
	if l.rec.Identity == nil {
		// No STS session to take it from: the record shows who federated.
		l.rec.Identity = &record.Identity{Issuer: id.Issuer, Subject: id.Subject, Audience: id.Audience,
			JobWorkflowRef: id.JobWorkflowRef, Environment: id.Environment, IssuedAt: id.IssuedAt.UTC(), ExpiresAt: id.Expiry.UTC()}
	}
	return leased{spec: s, value: tok.Value, issued: time.Now()}, nil
}

// oidcToken is the job's OIDC token for audience, verified as the STS one
// is; the request token and every token the endpoint answers with are
// registered with the maskers first (an unregistered one is an error).
func (l *Lease) oidcToken(ctx context.Context, audience string) (secret.Value, *exchange.Identity, error) {
	oc, err := exchange.OIDCConfigFromEnv(l.io.Getenv)
	if err != nil {
		return secret.Value{}, nil, err
	}
	if l.o.OIDCIssuer != "" {
		oc.Issuer = l.o.OIDCIssuer
	}
	oc.Audience = audience
	var maskErr error
	oc.OnToken = func(v secret.Value) {
		if err := l.registerOwn(v); err != nil && maskErr == nil {
			maskErr = err
		}
	}
	if err := l.registerOwn(oc.RequestToken); err != nil {
		return secret.Value{}, nil, err
	}
	tok, id, err := exchange.NewOIDC(oc).Token(ctx)
	if err == nil {
		err = maskErr
	}
	if err != nil {
		tok.Wipe()
		return secret.Value{}, nil, err
	}
	return tok, id, nil
}

// ownAudience names what keylease itself logs in to with an OIDC token of
// audience aud (the AWS session, Vault), or "".
func (l *Lease) ownAudience(aud string) string {
	if aud == l.awsAudience() {
		return "keylease's AWS session (--audience)"
	}
	if b, ok := l.cfg.Policy.Store(registry.StoreVault); ok && aud == b.Audience {
		return "keylease's Vault login (backends.vault.audience)"
	}
	return ""
}

// awsAudience is the audience of the OIDC token keylease assumes its AWS
// role with.
func (l *Lease) awsAudience() string {
	if l.o.Audience != "" {
		return l.o.Audience
	}
	return exchange.DefaultAudience
}

// federator is the vendor's token exchange for s.
func (l *Lease) federator(s registry.LeaseSpec) (vendorapi.Federator, error) {
	vo := vendorapi.Options{Getenv: l.io.Getenv}
	f := s.Federation
	switch s.Vendor {
	case "openai":
		return vendorapi.NewOpenAIFederation(vo, f.RuleID, f.ServiceAccountID)
	case "anthropic":
		return vendorapi.NewAnthropicFederation(vo, f.RuleID, f.OrganizationID, f.ServiceAccountID)
	}
	return nil, fmt.Errorf("%s.%s: %s has no federation (%s)", s.Vendor, s.Env, s.Vendor, registry.ModeSupport(registry.ModeFederated))
}

// minter is the vendor's admin client for s, authenticated with admin.
func (l *Lease) minter(s registry.LeaseSpec, admin secret.Value) (keyMinter, error) {
	vo := vendorapi.Options{Getenv: l.io.Getenv}
	switch s.Vendor {
	case "openai":
		c, err := vendorapi.NewOpenAI(vo)
		if err != nil {
			return nil, err
		}
		return c.Project(admin, s.ProjectID), nil
	case "xai":
		c, err := vendorapi.NewXAI(vo)
		if err != nil {
			return nil, err
		}
		return c.Team(admin, s.ProjectID, nil), nil
	}
	return nil, fmt.Errorf("%s.%s: %s keys cannot be minted per lease (%s)", s.Vendor, s.Env, s.Vendor, registry.ModeSupport(registry.ModeMinted))
}

// mint creates this lease's key. The key is registered, and its deletion
// owed, as soon as the vendor answers: whatever fails after, release
// deletes it.
func (l *Lease) mint(ctx context.Context, i int, s registry.LeaseSpec, admin secret.Value) (leased, error) {
	what := s.Vendor + "." + s.Env
	if admin.IsZero() {
		return leased{}, fmt.Errorf("minted lease of %s: its admin key %s.%s was not fetched", what, s.Vendor, s.Admin)
	}
	m, err := l.minter(s, admin)
	if err != nil {
		return leased{}, err
	}
	// The name carries the lease's end, so the audit's orphan sweep can
	// tell a key a crash left from a live one; the deadline is capped by it.
	exp := time.Now().Add(minTTL(l.specs, l.o.TTL)).Truncate(time.Second)
	name := mintname.Format(s.Vendor, s.Env, l.runID(), exp)
	// A signal must not cut the create call short: the vendor may have made
	// the key already, and only its answer says which key to delete. The
	// call keeps the setup deadline, and after a signal MintGrace more at
	// most; the signal is looked at once it ends.
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(ReleaseTimeout)
	}
	mctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl)
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(MintGrace, cancel) })
	k, err := m.Mint(mctx, name)
	stop()
	cancel()
	if !k.Key.IsZero() {
		if rerr := l.register(k.Key); rerr != nil && err == nil {
			err = rerr
		}
	}
	// The record names the key whatever happened: a mint whose answer was
	// lost or lacked the id leaves a key only its name can find.
	ml := &modeLease{mode: registry.ModeMinted, name: name, vendorID: k.ID, keyID: k.KeyID}
	if k.ID != "" {
		ml.del = m
	}
	l.modes.byIdx[i] = ml
	if err == nil && k.ID == "" {
		// A key keylease cannot name it cannot delete: never hand it out.
		err = fmt.Errorf("the vendor's answer has no id for the new key, so keylease could not delete it; delete the key named %s at the vendor now (keylease audit reports it as orphaned-minted-key)", name)
	}
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted after the key was made (%w); it is deleted", context.Cause(ctx))
	}
	if err != nil {
		k.Key.Wipe()
		return leased{}, fmt.Errorf("minted lease of %s: mint a key in %s: %w", what, registry.ShownName("project_id", s.ProjectID), err)
	}
	l.modes.bounds = append(l.modes.bounds, exp)
	if w, ok := m.(liveWaiter); ok {
		n, err := w.WaitLive(ctx, k.ID)
		l.rn.debugf("%s: key %s live after %d propagation check(s)", what, k.ID, n)
		if err != nil {
			k.Key.Wipe()
			return leased{}, fmt.Errorf("minted lease of %s: %w", what, err)
		}
	}
	if err := checkIssued(s, k.Key, "minted key"); err != nil {
		k.Key.Wipe()
		return leased{}, err
	}
	return leased{spec: s, value: k.Key, keyID: k.KeyID, issued: time.Now()}, nil
}

// checkIssued applies the check every leased value passes
// (exchange.CheckValue: not empty, no NUL byte, within one environment
// variable, the policy's required_prefix) to a vendor-issued value. It
// wipes v when it refuses it.
func checkIssued(s registry.LeaseSpec, v secret.Value, what string) error {
	p := exchange.CheckValue(what, v, s.RequiredPrefix, s.Vendor)
	switch {
	case p == nil:
		return nil
	case p.Code == exchange.CodePrefixMismatch:
		return fmt.Errorf("%s.%s: the %s does not start with the policy's required_prefix %q (value not shown); check the vendor endpoint the base URL points at", s.Vendor, s.Env, what, s.RequiredPrefix)
	}
	return fmt.Errorf("%s.%s: the %s cannot be leased: %s; check the vendor endpoint the base URL points at", s.Vendor, s.Env, what, p.Msg)
}

// runID is the run part of a minted key's name: the GitHub run id and
// attempt ("local" outside Actions), then "x" and 8 random hex digits.
func (l *Lease) runID() string {
	// A random part: matrix jobs of one run attempt share the run id and
	// may mint in the same second, and the audit's sweep must be able to
	// tell their keys apart. The run id stays first, for the record.
	b := make([]byte, 4)
	suffix := "x"
	if _, err := rand.Read(b); err == nil {
		suffix += hex.EncodeToString(b)
	}
	if id := l.io.Getenv("GITHUB_RUN_ID"); id != "" {
		return id + "a" + l.io.Getenv("GITHUB_RUN_ATTEMPT") + suffix
	}
	return "local" + suffix
}

// bound caps the deadline by every federated token's expiry and every
// minted key's name.
func (st *modeState) bound(deadline time.Time) time.Time {
	for _, b := range st.bounds {
		if b.Before(deadline) {
			deadline = b
		}
	}
	return deadline
}

// markModes writes each minted and federated lease's mode, ids and expiry
// into the record: never a value.
func (l *Lease) markModes() {
	for i, m := range l.modes.byIdx {
		rl := &l.rec.Leases[i]
		rl.Mode = m.mode
		rl.KeyID = m.keyID
		rl.VendorID = m.vendorID
		rl.MintedName = m.name
		if !m.tokenExp.IsZero() {
			rl.TokenExpiresAt = m.tokenExp.UTC().Truncate(time.Second)
		}
		if id := m.identity; id != nil {
			rl.OIDCSubject, rl.OIDCAudience = id.Subject, id.Audience
		}
		if !m.deletedAt.IsZero() {
			rl.DeletedAt = m.deletedAt.UTC().Truncate(time.Second)
		}
		rl.DeleteError = m.deleteErr
	}
	for i, s := range l.specs {
		if !isStored(s) && l.rec.Leases[i].Mode == "" {
			l.rec.Leases[i].Mode = s.Mode
		}
	}
}

// release deletes every key this lease minted and wipes the admin keys. It
// runs once, from Finish (or Close), on a context no signal cancels; a key
// it cannot delete is a lease error naming the key by id and name (the
// audit's orphan sweep finds it by that name too).
func (l *Lease) release() error {
	st := &l.modes
	if st.released {
		return nil
	}
	st.released = true
	defer func() {
		for _, a := range st.admins {
			a.Wipe()
		}
		st.admins = nil
	}()
	base := st.release
	if base == nil {
		base = context.Background()
	}
	// All at once: a cancelled job is killed seconds after its first
	// signal, and one slow vendor must not hold up the other deletions.
	idx := make([]int, 0, len(st.byIdx))
	for i, m := range st.byIdx {
		if m.del != nil {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for j, i := range idx {
		m := st.byIdx[i]
		wg.Go(func() {
			// A panic here would end the process past every deferred
			// cleanup (the other deletions, the record): it is this key's
			// error instead, its value never printed (it may hold a key).
			defer func() {
				if recover() != nil {
					errs[j] = errors.New("internal error (panic) while deleting it")
				}
			}()
			ctx, cancel := context.WithTimeout(base, ReleaseTimeout)
			defer cancel()
			if err := m.del.Disable(ctx, m.vendorID); err != nil {
				errs[j] = err
				return
			}
			m.deletedAt = time.Now()
		})
	}
	wg.Wait()
	for j, i := range idx {
		m, s := st.byIdx[i], l.specs[i]
		if errs[j] == nil {
			l.rn.debugf("%s.%s: deleted minted %s", s.Vendor, s.Env, m.vendorID)
			continue
		}
		errs[j] = fmt.Errorf("minted lease of %s.%s: delete %s (named %s): %w; delete it at the vendor now (keylease audit reports it as orphaned-minted-key)",
			s.Vendor, s.Env, m.vendorID, m.name, errs[j])
		m.deleteErr = l.set.Sanitize(errs[j].Error())
	}
	if l.rec != nil && len(st.byIdx) > 0 {
		l.markModes()
	}
	return errors.Join(errs...)
}

// releaseInto runs release and folds its error into cause: a key left at
// the vendor is a lease error (exit 3) even when the command succeeded.
func (l *Lease) releaseInto(cause error) error {
	err := l.release()
	if err == nil {
		return cause
	}
	err = l.set.SanitizeError(err)
	if cause == nil {
		return fail(ExitLease, err)
	}
	var le *Error
	if errors.As(cause, &le) {
		return &Error{Code: le.Code, Err: errors.Join(le.Err, err)}
	}
	return errors.Join(cause, err)
}
