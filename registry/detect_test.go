package registry

import (
	"testing"

	"github.com/keylease/keylease/detect/detecttest"
	"github.com/keylease/keylease/masking"
)

// TestLooksLikeValueCorpus runs the shared corpus through LooksLikeValue,
// and through the output scanner beside it: for every text, a vendor rule
// LooksLikeValue names is the one rule the scanner finds, and the other way
// round. Only the name-only rules (high-entropy, aws-secret-key) may flag
// a text the scanner passes.
func TestLooksLikeValueCorpus(t *testing.T) {
	t.Parallel()
	cases, err := detecttest.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	for _, c := range cases {
		id, ok := LooksLikeValue(c.Text)
		if id != c.Name || ok != (c.Name != "") {
			t.Errorf("corpus line %d: LooksLikeValue = %q, %v; want %q", c.Line, id, ok, c.Name)
		}
		fs := sc.Scan([]byte(c.Text))
		scan := ""
		if len(fs) > 0 {
			scan = fs[0].Detector
		}
		nameOnly := id == "high-entropy" || id == "aws-secret-key"
		switch {
		case len(fs) > 1:
			t.Errorf("corpus line %d: scanner found %d credentials in one text", c.Line, len(fs))
		case scan != "" && id != scan:
			t.Errorf("corpus line %d: scanner finds %s, LooksLikeValue says %q", c.Line, scan, id)
		case scan == "" && ok && !nameOnly:
			t.Errorf("corpus line %d: LooksLikeValue says %s, the scanner finds nothing", c.Line, id)
		}
	}
}
