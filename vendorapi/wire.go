package vendorapi

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/keylease/keylease/secret"
)

// wireSecret decodes a JSON string straight into a secret.Value. Going
// through a Go string would leave an immutable copy of the key on the heap
// that Wipe cannot reach; keys are plain ASCII, so the common case needs no
// unescaping and copies the bytes once.
type wireSecret struct{ v secret.Value }

func (w *wireSecret) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
		w.v = secret.New(b[1 : len(b)-1])
		return nil
	}
	var s string // escaped: rare, let encoding/json unescape it
	if err := json.Unmarshal(b, &s); err != nil {
		return errNotString
	}
	w.v = secret.FromString(s)
	return nil
}

type wireErr string

func (e wireErr) Error() string { return string(e) }

// errNotString names the problem without quoting the input.
const errNotString = wireErr("a key field is not a JSON string")

// jsonString returns raw as a string when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// unixTime converts a Unix-seconds field (0 or absent: zero time).
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
