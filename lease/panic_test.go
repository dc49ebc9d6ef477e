package lease

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/keylease/keylease/child"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/safetext"
	"github.com/keylease/keylease/secret"
)

// TestReportPanic: a panic recovered from the child's output writers is
// printed with its value and stack sanitized, on one line of value.
func TestReportPanic(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString([]byte(testKey))
	tests := []struct {
		name  string
		value any
		stack string
	}{
		{"value in the panic value", "redactor state: " + testKey, "goroutine 1 [running]:\nmain.main()"},
		{"value in the stack", "index out of range", "goroutine 7 [running]:\nmasking.(*Redactor).Write({0xc000, \"" + testKey + "\"})"},
		{"base64 form and newlines", "line1\n" + b64 + "\nline3", "goroutine 7 [running]:\n" + b64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set := masking.NewSet(masking.Options{})
			if err := set.Add(secret.FromString(testKey)); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			reportPanic(&out, safetext.Guard{Sanitize: set.Sanitize}, &child.PanicError{Value: tt.value, Stack: []byte(tt.stack)})
			noForm(t, "the panic report", out.Bytes())
			first, _, _ := strings.Cut(out.String(), "\n")
			if !strings.HasPrefix(first, "keylease: internal error (panic)") || !strings.Contains(out.String(), "goroutine") {
				t.Errorf("report %q lacks the header or the stack", out.String())
			}
		})
	}
}
