package exchange

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzExtract: whatever the secret's value, the #key selection and the
// prefix check never put any of it into an error.
func FuzzExtract(f *testing.F) {
	f.Add("sk-proj-0123456789abcdef", true)
	f.Add(`{"api_key":"sk-ant-api03-xyz","org":"org-123456789"}`, false)
	f.Add(`{"api_key":42}`, false)
	f.Add(`{"other":"sk-secret-value-123"}`, false)
	f.Add(`not json at all: sk-123456789`, false)
	req := Request{Label: "kv://x", SecretID: "x", JSONKey: "api_key", RequiredPrefix: "sk-ant-", Vendor: "anthropic"}
	// Every message extract can produce, for the fixed request above: a
	// value that is a substring of these is not a leak.
	var fixed strings.Builder
	for _, in := range []*raw{
		{bin: []byte{1, 2, 3}}, {str: ptr("plain")}, {str: ptr(`{"k":"v"}`)}, {str: ptr(`{"api_key":1}`)},
		{str: ptr(`{"api_key":""}`)}, {str: ptr(`{"api_key":"zz"}`)}, {},
	} {
		if _, err := extract(req, in); err != nil {
			fixed.WriteString(err.Error() + "\n")
		}
	}
	noKey := req
	noKey.JSONKey = ""
	f.Fuzz(func(t *testing.T, value string, binary bool) {
		inputs := []*raw{{str: ptr(value)}}
		if binary {
			inputs = append(inputs, &raw{bin: []byte(value)})
		}
		if b, err := json.Marshal(map[string]string{"api_key": value, "other": value + "-other"}); err == nil {
			inputs = append(inputs, &raw{str: ptr(string(b))})
		}
		if b, err := json.Marshal(map[string]string{"other": value}); err == nil {
			inputs = append(inputs, &raw{str: ptr(string(b))})
		}
		for _, in := range inputs {
			for _, r := range []Request{req, noKey} {
				_, err := extract(r, in)
				if err == nil || len(value) < 6 || strings.Contains(fixed.String(), value) {
					continue
				}
				if strings.Contains(err.Error(), value) {
					t.Fatalf("error quotes the value: %v", err)
				}
			}
		}
	})
}

func ptr(s string) *string { return &s }
