package lease

import (
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
)

// What the lifecycle commands (rotate, revoke, audit) use of a lease beyond
// the steps: they lease keylease's own admin key, read other versions of a
// secret, and seal their own records with the lease's scanner.

// Config is the registry and policy Load read; nil before Load.
func (l *Lease) Config() *registry.Config { return l.cfg }

// ResolveSpecs stands in for Resolve when the caller chose the specs itself
// (an admin entry through registry.Config.ResolveAdmin, which exec's Resolve
// refuses; or none at all when only the AWS session is needed). It starts
// the record and the scanner exactly as Resolve does.
func (l *Lease) ResolveSpecs(specs []registry.LeaseSpec) {
	l.specs = specs
	l.rec = record.New(l.o.Version, l.io.Getenv, specs)
	l.sc = newScanner(l.set, l.cfg.Policy.RequiredPrefix)
	l.guard.Scan = l.sc.Scan
	l.res = &Result{Record: l.rec}
}

// Register adds a value keylease obtained outside Fetch (a minted key, a
// pending or previous version) to every masker before it may be printed.
func (l *Lease) Register(v secret.Value) error { return l.register(v) }

// Sanitize removes every registered form from s.
func (l *Lease) Sanitize(s string) string { return l.set.Sanitize(s) }

// SanitizeError is err with every registered form removed, still wrapping err.
func (l *Lease) SanitizeError(err error) error { return l.set.SanitizeError(err) }

// Scan finds registered forms and vendor-key shapes in b (the record scan);
// DetectorNames names the detectors it runs. Valid after Resolve/ResolveSpecs.
func (l *Lease) Scan(b []byte) int { return len(l.sc.Scan(b)) }

// DetectorNames are the detectors Scan runs.
func (l *Lease) DetectorNames() []string { return l.sc.DetectorNames() }

// OnActions reports whether the lease runs under GitHub Actions.
func (l *Lease) OnActions() bool { return l.onActions }
