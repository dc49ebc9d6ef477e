package vendorapi

import (
	"context"
	"time"

	"github.com/keylease/keylease/secret"
)

// Verdict is the outcome of a validity check.
type Verdict int

const (
	// Indeterminate means the vendor did not say (throttled, 5xx, network, or the
	// key lacks the permission the check needs). Never act on it as Invalid.
	Indeterminate Verdict = iota
	// Valid means the vendor accepted the key.
	Valid
	// Invalid means the vendor rejected the key itself (wrong, revoked, disabled).
	Invalid
)

func (v Verdict) String() string {
	switch v {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	}
	return "indeterminate"
}

// Validator checks whether a key works at its vendor. An Indeterminate
// verdict comes with the error that made it so; Valid and Invalid come with nil.
type Validator interface {
	Check(ctx context.Context, key secret.Value) (Verdict, error)
}

// Minted is a key a Minter created: ID is what Disable takes to retire it
// (an OpenAI service account, an xAI key id), KeyID the vendor's id of the
// key itself, Key its value, returned once by the vendor.
type Minted struct {
	ID    string
	KeyID string
	Name  string
	Key   secret.Value
}

// Minter creates a new key named name.
type Minter interface {
	Mint(ctx context.Context, name string) (Minted, error)
}

// Disabler retires a key so it stops working (delete or deactivate).
type Disabler interface {
	Disable(ctx context.Context, id string) error
}

// KeyInfo describes a key without its value.
type KeyInfo struct {
	ID       string // what Disable takes
	KeyID    string // the vendor's key id, when it differs from ID
	Name     string
	Status   string    // "active", "inactive", "disabled", … as the vendor says
	Hint     string    // the vendor's redacted form ("sk-…abcd"), never the value
	Created  time.Time // zero when unknown
	LastUsed time.Time // zero when unknown or never used
}

// Lister lists the keys an admin credential can see.
type Lister interface {
	List(ctx context.Context) ([]KeyInfo, error)
}
