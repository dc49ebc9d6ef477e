package vendorfake

import (
	"testing"

	"github.com/keylease/keylease/masking"
)

// TestMintedKeysLookReal: every key the fakes mint is found, whole, by the
// vendor detectors, so tests of masking and detection see realistic values.
func TestMintedKeysLookReal(t *testing.T) {
	t.Parallel()
	o := &OpenAI{admins: map[string]bool{}, keys: map[string]*oaKey{}, sas: map[string]*oaServiceAccount{}}
	a := &Anthropic{admins: map[string]bool{}, keys: map[string]*anKey{}}
	x := &XAI{mgmt: map[string]bool{}, keys: map[string]*xKey{}}
	_, proj := o.AddKey("p", "k", false)
	_, ant := a.AddKey("k")
	_, xai := x.AddKey("t", "k", false)
	x.mu.Lock()
	minted := x.newKey("t", "m", nil).value
	x.mu.Unlock()
	keys := map[string]string{"openai admin": o.AddAdminKey(), "openai project": proj, "anthropic": ant,
		"anthropic admin": a.AddAdminKey(), "xai": xai, "xai minted": minted}
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	for name, k := range keys {
		fs := sc.Scan([]byte(k))
		if len(fs) != 1 || fs[0].Offset != 0 || fs[0].Length != len(k) {
			t.Errorf("%s key (%d bytes): detectors found %v, want the whole key once", name, len(k), fs)
		}
	}
	if len(x.keys[mustID(t, x, minted)].value) != 84 {
		t.Errorf("xai key is not xai- + 80")
	}
}

func mustID(t *testing.T, x *XAI, v string) string {
	t.Helper()
	for id, k := range x.keys {
		if k.value == v {
			return id
		}
	}
	t.Fatal("minted key not stored")
	return ""
}
