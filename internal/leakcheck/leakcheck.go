// Package leakcheck is the tests' one answer to "does any form of this secret
// appear in this output?".
//
// A form is everything keylease promises to mask: the forms the masking
// package derives (the value, its trimmed value and lines, the runner's
// encodings and the extra ones, wrapped base64), plus a fragment of the
// value's body, since a message that quotes part of a key has leaked it too.
// Tests outside masking check with this instead of a hand-picked list, so they
// assert the product's whole promise. masking's own tests keep independent
// checks: judging the masker with itself would prove nothing.
package leakcheck

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

// minLen is the shortest value checked; shorter ones match by chance.
const minLen = 4

// fragmentLen is the length of the body fragment searched for in values long
// enough to have one past their vendor prefix.
const fragmentLen = 12

// Find returns where forms of values occur in out, as findings that carry
// offset, length and kind, never the text.
func Find(out []byte, values ...string) []masking.Finding {
	set := masking.NewSet(masking.Options{AllowShort: true})
	var frags [][]byte
	for _, v := range values {
		if len(v) < minLen {
			continue
		}
		if err := set.Add(secret.FromString(v)); err != nil {
			// Only a value over masking.MaxLen is refused here; a test
			// that leases one must check it some other way.
			panic(fmt.Sprintf("leakcheck: a %d-byte value cannot be checked: %v", len(v), err))
		}
		if len(v) >= 2*fragmentLen {
			mid := len(v) / 2
			frags = append(frags, []byte(v[mid-fragmentLen/2:mid+fragmentLen/2]))
		}
	}
	found := masking.NewScanner(masking.ScanOptions{Set: set}).Scan(out)
	for _, f := range frags {
		for off := 0; ; {
			i := bytes.Index(out[off:], f)
			if i < 0 {
				break
			}
			found = append(found, masking.Finding{Offset: int64(off + i), Length: len(f), Detector: "fragment"})
			off += i + len(f)
		}
	}
	return found
}

// Assert fails t when out, described by what, holds a form of any of values.
// The failure names where and which kind of form, never the text.
func Assert(t testing.TB, what string, out []byte, values ...string) {
	t.Helper()
	if found := Find(out, values...); len(found) > 0 {
		f := found[0]
		t.Errorf("%s holds %d form(s) of a secret; the first: %s at byte %d (%d bytes)", what, len(found), f.Detector, f.Offset, f.Length)
	}
}
