// Package store is what the lease needs of a secret store other than AWS
// Secrets Manager: read one ref's value and its version. Each store (env,
// op, vault, keychain) is a small package of its own; the lease picks one by
// the ref's scheme. Secrets Manager keeps its batched fetcher in exchange.
package store

import (
	"context"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
)

// Store reads the value a ref names, and the store's version id of it (""
// when the store has none).
type Store interface {
	Fetch(ctx context.Context, ref registry.Ref) (secret.Value, string, error)
}

// Releaser is a Store that holds a credential of its own (a Vault token)
// until the lease ends: Release gives it up.
type Releaser interface {
	Release(ctx context.Context) error
}

// Error codes of an *Error, one per way a store fails.
const (
	CodeUnavailable = "StoreUnavailable" // not installed, not reachable, failing
	CodeNotFound    = "NotFound"         // no such item, field or variable
	CodeDenied      = "PermissionDenied" // the credential may not read it
	CodeAuth        = "AuthFailed"       // logging in to the store failed
	CodeRefused     = "Refused"          // keylease will not read it here
	CodeBadValue    = "BadValue"         // what came back cannot be leased
)

// Error is every error a store returns: which store and ref, a code, what
// happened and what to do. It never holds a value, a token or the store's
// own error text (which may quote either).
type Error struct {
	Store, Ref, Code, Msg, Hint string
	cause                       error // context errors, for errors.Is
}

// NewError is an *Error; cause is kept for errors.Is only, never printed.
func NewError(store, ref, code, msg, hint string, cause error) *Error {
	return &Error{Store: store, Ref: ref, Code: code, Msg: msg, Hint: hint, cause: cause}
}

func (e *Error) Error() string {
	s := e.Store + " " + e.Ref + ": " + e.Code + ": " + e.Msg
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Unwrap returns the cause (a context error), if any.
func (e *Error) Unwrap() error { return e.cause }

// Check applies to a value from any store the check every leased value
// passes (exchange.CheckValue), as a BadValue *Error naming the store and
// ref. It wipes v when it refuses it.
func Check(store, ref string, v secret.Value, prefix, vendor string) error {
	if p := exchange.CheckValue(ref, v, prefix, vendor); p != nil {
		return NewError(store, ref, CodeBadValue, p.Msg, p.Hint, nil)
	}
	return nil
}
