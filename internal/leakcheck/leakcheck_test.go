package leakcheck

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

const key = "sk-proj-Lc7x9Qm2Vb8Nz4Kp1Rt6Yw3Hs5Jd0Fg"

// fakeT records failures instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
}

func TestFindsEveryKindOfForm(t *testing.T) {
	t.Parallel()
	j, _ := json.Marshal(key + "<&>")
	forms := map[string]string{
		"raw":           key,
		"base64":        base64.StdEncoding.EncodeToString([]byte(key)),
		"base64url raw": base64.RawURLEncoding.EncodeToString([]byte("x" + key)),
		"hex":           hex.EncodeToString([]byte(key)),
		"HEX":           strings.ToUpper(hex.EncodeToString([]byte(key))),
		"query":         url.QueryEscape(key + " &"),
		"go json":       string(j),
		"fragment":      "the key ends in " + key[len(key)/2-6:len(key)/2+6] + "...",
	}
	for name, form := range forms {
		out := []byte("log line: " + form + " done")
		if got := Find(out, key); len(got) == 0 {
			t.Errorf("%s form not found", name)
		}
		ft := &fakeT{}
		Assert(ft, name, out, key)
		if !ft.failed {
			t.Errorf("Assert passed output holding the %s form", name)
		}
		if ft.msg == "" || strings.Contains(ft.msg, key) || strings.Contains(ft.msg, form) {
			t.Errorf("Assert's message is empty or holds the form: %d bytes", len(ft.msg))
		}
	}
}

func TestCleanOutputPasses(t *testing.T) {
	t.Parallel()
	out := []byte("keylease: lease ok; OPENAI_API_KEY=*** (56 bytes) sk-proj-*** ref kv://openai/ci/api_key")
	if got := Find(out, key, "abc"); len(got) != 0 {
		t.Errorf("clean output: %d findings: %+v", len(got), got)
	}
	Assert(t, "clean output", out, key)
}
