package exchange

import (
	"bytes"
	"strconv"

	"github.com/keylease/keylease/secret"
)

// Codes of a ValueProblem.
const (
	CodeEmptyValue     = "EmptySecret"
	CodeUnusableValue  = "UnusableValue"
	CodePrefixMismatch = "PrefixMismatch"
)

// ValueProblem is why a value cannot be leased: a code, what is wrong and
// what to do, never the value.
type ValueProblem struct {
	Code, Msg, Hint string
	Unusable        *UnusableValueError // for CodeUnusableValue
}

// CheckValue is the one check every leased value passes, whatever store or
// vendor it came from: not empty, no NUL byte, within one environment
// variable's limit (MaxValueBytes), and starting with prefix (the policy's
// required prefix for vendor; "": none). It returns nil for a value that
// may be leased, and wipes v when it refuses it. ref names the value in the
// UnusableValueError.
func CheckValue(ref string, v secret.Value, prefix, vendor string) *ValueProblem {
	var p *ValueProblem
	n, nul := v.Len(), bytes.IndexByte(v.Bytes(), 0) >= 0
	switch {
	case v.IsZero():
		p = &ValueProblem{Code: CodeEmptyValue, Msg: "the value is empty", Hint: "put a value in the secret"}
	case n > MaxValueBytes || nul:
		ue := &UnusableValueError{Ref: ref, Len: n, Limit: MaxValueBytes, NUL: nul}
		p = &ValueProblem{Code: CodeUnusableValue, Msg: ue.reason(), Hint: "store a value of at most " + strconv.Itoa(MaxValueBytes) + " bytes", Unusable: ue}
		if nul {
			p.Hint = "store the value without NUL bytes (base64-encode binary data)"
		}
	case prefix != "" && !bytes.HasPrefix(v.Bytes(), []byte(prefix)):
		if vendor == "" {
			vendor = "this ref"
		}
		p = &ValueProblem{Code: CodePrefixMismatch,
			Msg:  "the value does not start with the policy's required prefix for " + vendor + "; the ref points at the wrong secret",
			Hint: "fix the ref (or the secret) so it names the " + vendor + " key"}
	default:
		return nil
	}
	v.Wipe()
	return p
}
