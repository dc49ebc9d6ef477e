package masking

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/keylease/keylease/secret"
)

func TestRegisterWithRunner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		value     string
		wantForms []string // must be among the registered forms
		notForms  []string // must not be registered (the runner derives them)
	}{
		{
			name:      "single line",
			value:     testSecret,
			wantForms: []string{testSecret, "736b2d74657374", "736B2D74657374"},
			notForms:  []string{base64.StdEncoding.EncodeToString([]byte(testSecret))},
		},
		{
			name:      "base64 alphabet differs",
			value:     "???>>>???>>>",
			wantForms: []string{"Pz8_Pj4-Pz8_Pj4-"},
			notForms:  []string{"Pz8/Pj4+Pz8/Pj4+"},
		},
		{
			name:      "multi line with percent",
			value:     "line-1%0A-value\r\nline-2-value\n",
			wantForms: []string{"line-1%0A-value\r\nline-2-value\n", "line-1%0A-value", "line-2-value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			n, err := RegisterWithRunner(&out, secret.FromString(tt.value))
			if err != nil {
				t.Fatal(err)
			}
			got := parseAddMask(t, out.String())
			if len(got) != n || got[0] != tt.value {
				t.Fatalf("%d commands (reported %d), first is not the value", len(got), n)
			}
			for _, w := range tt.wantForms {
				if !slices.Contains(got, w) && !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("form of %d bytes not registered", len(w))
				}
			}
			for _, w := range tt.notForms {
				if slices.Contains(got, w) {
					t.Errorf("registered a form the runner derives itself")
				}
			}
			for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				if strings.ContainsAny(line, "\r") {
					t.Errorf("raw CR in a command line")
				}
			}
		})
	}
}

func TestRegisterWithRunnerWriteError(t *testing.T) {
	t.Parallel()
	boom := errors.New("stdout closed")
	n, err := RegisterWithRunner(failWriter{boom}, secret.FromString(testSecret))
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("got %d, %v", n, err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error holds the value")
	}
}

// TestRegisterRawWithRunner: keylease's own credentials are registered as
// the value (and its lines) only; the runner derives its encodings.
func TestRegisterRawWithRunner(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string
		want  []string
	}{
		{testSecret, []string{testSecret}},
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJlLXZhbHVl", []string{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJlLXZhbHVl"}},
		{"line-1-value\nline-2-value\n", []string{"line-1-value%0Aline-2-value%0A", "line-1-value%0Aline-2-value", "line-1-value", "line-2-value"}},
	} {
		var raw, full bytes.Buffer
		n, err := RegisterRawWithRunner(&raw, secret.FromString(tt.value))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSuffix(raw.String(), "\n"), "\n") {
			got = append(got, strings.TrimPrefix(l, "::add-mask::"))
		}
		if n != len(tt.want) || !slices.Equal(got, tt.want) {
			t.Errorf("RegisterRawWithRunner(%q) = %d %q, want %q", tt.value, n, got, tt.want)
		}
		nf, _ := RegisterWithRunner(&full, secret.FromString(tt.value))
		if nf <= n || full.Len() <= raw.Len() {
			t.Errorf("every form: %d commands (%d bytes), raw: %d (%d bytes): raw is not smaller", nf, full.Len(), n, raw.Len())
		}
	}
}
