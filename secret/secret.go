// Package secret holds leased values in a type that cannot be printed.
//
// A Value is the only way keylease carries a vendor key, an OIDC token or an
// AWS session credential between packages. Every formatting path (fmt verbs,
// String, GoString, JSON, text marshalling and slog) yields "[redacted]", so a
// stray %v in an error or a log line cannot disclose it. Reaching the bytes
// takes an explicit call to Bytes.
package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
)

// Redacted is what every formatting of a Value prints.
const Redacted = "[redacted]"

// Value is a secret held in memory. The zero Value is empty.
type Value struct {
	b []byte
}

// New returns a Value that owns a copy of b. The caller should wipe b when it
// no longer needs it.
func New(b []byte) Value {
	c := make([]byte, len(b))
	copy(c, b)
	return Value{b: c}
}

// FromString returns a Value holding s.
func FromString(s string) Value { return Value{b: []byte(s)} }

// Bytes returns the secret bytes. The slice is shared: do not modify or retain
// it beyond the call that needs it.
func (v Value) Bytes() []byte { return v.b }

// Len is the length of the secret in bytes.
func (v Value) Len() int { return len(v.b) }

// IsZero reports whether v holds no bytes.
func (v Value) IsZero() bool { return len(v.b) == 0 }

// Fingerprint is the hex sha256 of the value (SL8's ops-only fingerprint). It
// discloses nothing that can be used, but it still identifies a key: keep it out
// of repositories and public records.
func (v Value) Fingerprint() string {
	sum := sha256.Sum256(v.b)
	return hex.EncodeToString(sum[:])
}

// Wipe overwrites the bytes with zeros. Copies made elsewhere (the child's
// environment, the OS) are out of reach; this only shortens how long our own
// heap holds the value.
func (v Value) Wipe() {
	clear(v.b)
}

// String implements fmt.Stringer.
func (Value) String() string { return Redacted }

// GoString implements fmt.GoStringer.
func (Value) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb, including %x and %q, redacts.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalJSON implements json.Marshaler.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML and others use it).
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }
