package masking

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandEscapesAreMasked: a value printed in a workflow command the way
// @actions/core escapes it (data: % CR LF; properties: also : and ,; the
// legacy ##[...] form: also ; and ]) is masked, and the output keeps no part
// of it. The escapes are written out here by hand, not with the code under
// test.
func TestCommandEscapesAreMasked(t *testing.T) {
	t.Parallel()
	const v = "pw-%41:b,c;d]e-9f8e7d6c5b4a3210" // #nosec G101 -- made up
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(v)
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(v)
	legacy := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ";", "%3B", "]", "%5D").Replace(v)
	multi := "first-line-%41\r\nsecond-line-9f8e7d6c" // #nosec G101 -- made up
	s := newSetOf(t, Options{}, v, multi)
	for name, line := range map[string]string{
		"multi-line data":  "::set-output name=m::" + strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(multi) + "\n",
		"set-output data":  "::set-output name=token::" + data + "\n",
		"save-state data":  "  ::save-state name=s::" + data + "\n",
		"set-env property": "::set-env name=" + prop + "::x\n",
		"legacy":           "##[set-output name=token;]" + legacy + "\n",
	} {
		var out bytes.Buffer
		r := s.NewRedactor(&out)
		// Byte by byte: the escaped form must be found across writes too.
		for i := range len(line) {
			if _, err := r.Write([]byte{line[i]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !strings.Contains(got, "***") {
			t.Errorf("%s: nothing masked (%d bytes out)", name, len(got))
		}
		for _, f := range []string{data, prop, legacy, "9f8e7d6c", "%2541"} {
			if strings.Contains(got, f) {
				t.Errorf("%s: the output keeps a %d-byte part of the value", name, len(f))
			}
		}
		if got := s.Sanitize(line); strings.Contains(got, "9f8e7d6c") {
			t.Errorf("%s: Sanitize keeps part of the value", name)
		}
	}
}

// TestCommandEscapesOnlyWhereTheyDiffer: a key with none of the escaped
// characters gets no extra form (the matcher stays as small as before).
func TestCommandEscapesOnlyWhereTheyDiffer(t *testing.T) {
	t.Parallel()
	if got := commandEscapes([]byte(testSecret)); len(got) != 0 {
		t.Fatalf("%d escape form(s) for a value without %%, CR, LF, :, ',', ; or ]", len(got))
	}
	if got := commandEscapes([]byte("ab%cd:ef")); len(got) != 3 {
		t.Fatalf("%d escape form(s), want 3 (data, property, legacy)", len(got))
	}
}
