// Package keyform reads and writes the JSON form of a stored vendor key:
// {"api_key": VALUE, "key_id": VENDOR_KEY_ID, …other vendor ids}. A rotated
// secret is stored this way so that every Secrets Manager version carries the
// vendor id of its own key, which retirement and revocation need. A secret
// that is not a JSON object is a plain key and keeps working as one.
//
// Errors never quote the input: encoding/json's syntax errors quote the
// offending character, which here would be part of a key.
package keyform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/keylease/keylease/detect"
	"github.com/keylease/keylease/secret"
)

// Stored is a decoded secret: the key and the vendor's ids of it.
type Stored struct {
	Key   secret.Value
	KeyID string            // the vendor's id of Key; "" when the secret is a plain key or has none
	IDs   map[string]string // other ids (service_account_id, …); never values
	JSON  bool              // the secret was in the JSON form
}

// MaxSize bounds a JSON-form secret; Secrets Manager's own limit is 64 KiB.
const MaxSize = 64 << 10

// idPattern is what an id may look like: vendor ids are short tokens.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// Errors of Decode; none holds any part of the input.
var (
	ErrMalformed = errors.New("the secret starts with '{' but is not a JSON object of strings; store {\"api_key\": KEY, \"key_id\": ID} or the plain key")
	ErrNoKey     = errors.New("the JSON-form secret has no non-empty \"api_key\" string; store {\"api_key\": KEY, \"key_id\": ID}")
	ErrBadID     = errors.New("an id field of the JSON-form secret is not a short id (letters, digits, _ . : -) or looks like a key; ids must never be values")
)

// IsJSON reports whether b is meant as the JSON form (its first non-space
// byte is '{'), as Decode decides.
func IsJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// Decode reads v. A value whose first non-space byte is not '{' is a plain
// key: Stored.Key is v itself. Otherwise it must be the JSON form, and
// Stored.Key is a new Value the caller wipes (v is left as it is).
func Decode(v secret.Value) (Stored, error) {
	b := bytes.TrimLeft(v.Bytes(), " \t\r\n")
	if !IsJSON(b) {
		return Stored{Key: v}, nil
	}
	if len(b) > MaxSize {
		return Stored{}, fmt.Errorf("%w (larger than %d bytes)", ErrMalformed, MaxSize)
	}
	if ts, ok := ParseTombstone(b); ok {
		return Stored{}, &RevokedError{ts}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return Stored{}, ErrMalformed
	}
	defer func() {
		for _, r := range fields {
			clear(r)
		}
	}()
	raw, ok := fields["api_key"]
	if !ok {
		return Stored{}, ErrNoKey
	}
	key, err := unquote(raw)
	if err != nil {
		return Stored{}, ErrMalformed
	}
	if len(key) == 0 {
		return Stored{}, ErrNoKey
	}
	st := Stored{Key: secret.New(key), JSON: true}
	clear(key)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "api_key" {
			continue
		}
		id, err := unquote(fields[k])
		if err != nil {
			st.Key.Wipe()
			return Stored{}, ErrMalformed
		}
		s := string(id)
		if _, looks := detect.Name(s); !idPattern.MatchString(s) || looks || !idPattern.MatchString(k) {
			st.Key.Wipe()
			return Stored{}, ErrBadID
		}
		if k == "key_id" {
			st.KeyID = s
			continue
		}
		if st.IDs == nil {
			st.IDs = map[string]string{}
		}
		st.IDs[k] = s
	}
	return st, nil
}

// unquote decodes a JSON string into bytes the caller can wipe. A string
// without escapes (every vendor key) is copied as it is; one with escapes
// goes through encoding/json, which leaves an unwipeable copy: acceptable for
// a form no vendor key takes.
func unquote(raw json.RawMessage) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, ErrMalformed
	}
	inner := raw[1 : len(raw)-1]
	if !bytes.ContainsAny(inner, "\\\"") && !hasControl(inner) {
		return bytes.Clone(inner), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, ErrMalformed
	}
	return []byte(s), nil
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// Encode returns the JSON form of key with keyID and ids. The key must not
// need escaping (vendor keys never do); ids must be short ids.
func Encode(key secret.Value, keyID string, ids map[string]string) (secret.Value, error) {
	kb := key.Bytes()
	if len(kb) == 0 || bytes.ContainsAny(kb, "\\\"") || hasControl(kb) {
		return secret.Value{}, errors.New("the key cannot be stored in the JSON form (empty, or has quotes, backslashes or control characters)")
	}
	all := map[string]string{}
	for k, v := range ids {
		all[k] = v
	}
	if keyID != "" {
		all["key_id"] = keyID
	}
	names := make([]string, 0, len(all))
	for k, v := range all {
		if _, looks := detect.Name(v); k == "api_key" || !idPattern.MatchString(k) || !idPattern.MatchString(v) || looks {
			return secret.Value{}, ErrBadID
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	buf.Grow(len(kb) + 64*len(names) + 16)
	buf.WriteString(`{"api_key":"`)
	buf.Write(kb)
	buf.WriteByte('"')
	for _, k := range names {
		fmt.Fprintf(&buf, ",%q:%q", k, all[k])
	}
	buf.WriteByte('}')
	out := secret.New(buf.Bytes())
	clear(buf.Bytes())
	return out, nil
}
