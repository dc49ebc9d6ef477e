package scanreport

import (
	"bytes"
	"testing"
)

// FuzzParseBaseline: any input is a baseline or an error, never a panic;
// an accepted JSON report's keys are recomputed from its findings, and a
// written report always parses back to the keys of its findings.
func FuzzParseBaseline(f *testing.F) {
	r := &Report{Tool: "keylease scan", Findings: []Finding{{Path: "a.go", Line: 3, Column: 7, Rule: "xai-api-key"}, {Commit: "c0ffee", Path: "x.zip!y", Line: 1, Column: 1, Rule: "fingerprint", Ref: "kv://a/b/c"}}}
	var j, s bytes.Buffer
	if err := r.WriteJSON(&j); err != nil {
		f.Fatal(err)
	}
	if err := r.WriteSARIF(&s); err != nil {
		f.Fatal(err)
	}
	f.Add(j.Bytes())
	f.Add(s.Bytes())
	f.Add([]byte(`{"schema":"keylease.scan/v1","findings":null}`))
	f.Add([]byte(`{"version":"2.1.0","runs":[{"results":[{}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		base, err := ParseBaseline(b)
		if err != nil {
			return
		}
		for k := range base {
			if !keyHex.MatchString(k) {
				t.Fatalf("accepted key %q", k)
			}
		}
	})
}

func TestBaselineRoundTrip(t *testing.T) {
	t.Parallel()
	fs := []Finding{{Path: "a.go", Line: 3, Column: 7, Rule: "xai-api-key"}, {Commit: "c", Path: "x.zip!y", Line: 1, Column: 1, Rule: "fingerprint"}}
	for _, write := range []func(*Report, *bytes.Buffer) error{
		func(r *Report, b *bytes.Buffer) error { return r.WriteJSON(b) },
		func(r *Report, b *bytes.Buffer) error { return r.WriteSARIF(b) },
	} {
		var b bytes.Buffer
		if err := write(&Report{Tool: "t", Findings: fs}, &b); err != nil {
			t.Fatal(err)
		}
		base, err := ParseBaseline(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		moved := Finding{Path: "a.go", Line: 4, Column: 7, Rule: "xai-api-key"}
		otherRule := Finding{Path: "a.go", Line: 3, Column: 7, Rule: "openai-project-key"}
		kept, n := base.Filter(append(fs, moved, otherRule))
		if n != 2 || len(kept) != 2 || kept[0] != moved || kept[1] != otherRule {
			t.Fatalf("kept %+v, suppressed %d; want the moved and the other-rule finding kept", kept, n)
		}
	}
	// An edited keys list cannot suppress anything: keys are recomputed.
	forged := []byte(`{"schema":"keylease.scan/v1","tool":"t","findings":[],"suppressed":0,"keys":["` + fs[0].Key() + `"]}`)
	base, err := ParseBaseline(forged)
	if err != nil {
		t.Fatal(err)
	}
	if _, n := base.Filter(fs); n != 0 {
		t.Errorf("forged keys suppressed %d", n)
	}
}
