package vendorapi

import (
	"strings"
	"testing"
)

// checkToken is the decoders' invariant: a type or code is empty or short,
// of the safe alphabet, taken from the body, and never key-shaped.
func checkToken(t *testing.T, body []byte, tok string) {
	t.Helper()
	if tok == "" {
		return
	}
	if safeToken(tok) != tok {
		t.Fatalf("decoded token of %d bytes is not of the safe shape", len(tok))
	}
	if _, err := parseUint(tok); err != nil && !strings.Contains(string(body), tok) {
		t.Fatalf("decoded token does not come from the body")
	}
}

func parseUint(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errNotString
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func fuzzDecoder(f *testing.F, dec func([]byte) (string, string), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, code := dec(b)
		checkToken(t, b, typ)
		checkToken(t, b, code)
	})
}

func FuzzDecodeOpenAIError(f *testing.F) {
	fuzzDecoder(f, decodeOpenAIError,
		`{"error":{"message":"Incorrect API key provided: sk-ab***cd.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
		`{"error":{"type":"server_error","code":500}}`,
		`{"error":{"type":"sk-proj-AAAAbbbb1111ccccDDDD2222eeeeFFFF3333gggg","code":null}}`,
		`{"error":"x"}`, `[]`, ``)
}

func FuzzDecodeAnthropicError(f *testing.F) {
	fuzzDecoder(f, decodeAnthropicError,
		`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_1"}`,
		`{"type":"error","error":{"type":"overloaded_error"}}`, `{"error":null}`, `null`)
}

func FuzzDecodeXAIError(f *testing.F) {
	fuzzDecoder(f, decodeXAIError,
		`{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***yz."}`,
		`{"code":16,"message":"Invalid management key","details":[]}`,
		`{"code":"xai-AAAAbbbb1111ccccDDDD2222eeeeFFFF3333gggg5555"}`, `{"code":1e99}`)
}

func TestSafeTokenRefusesKeys(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"sk-proj-AAAAbbbb1111ccccDDDD2222eeeeFFFF3333gggg", "xai-AAAAbbbb1111ccccDDDD2222eeeeFFFF3333",
		strings.Repeat("a", maxToken+1), "invalid\napi_key", `code"quote`, "",
	} {
		if got := safeToken(s); got != "" {
			t.Errorf("safeToken kept a %d-byte token it should refuse", len(s))
		}
	}
	for _, s := range []string{"invalid_api_key", "authentication_error", "Client specified an invalid argument", "16"} {
		if safeToken(s) != s {
			t.Errorf("safeToken(%q) refused a real vendor code", s)
		}
	}
}

func FuzzDecodeOAuthError(f *testing.F) {
	fuzzDecoder(f, decodeOAuthError(decodeAnthropicError),
		`{"error":"invalid_grant","error_description":"assertion eyJhbGciOi.x.y is not valid"}`,
		`{"type":"error","error":{"type":"authentication_error","message":"m"}}`, `{"error":{"type":"x"}}`)
}
