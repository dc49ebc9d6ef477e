package keyform

import (
	"errors"
	"fmt"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/secret"
)

const fakeKey = "sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0JfRw4Tq7Zx"

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in     string
		key, keyID   string
		json         bool
		err          error
		svcAccountID string
	}{
		{"plain", fakeKey, fakeKey, "", false, nil, ""},
		{"json", `{"api_key":"` + fakeKey + `","key_id":"key_abc","service_account_id":"svc_acct_1"}`, fakeKey, "key_abc", true, nil, "svc_acct_1"},
		{"json spaces", " \n{ \"key_id\" : \"k1\", \"api_key\" : \"" + fakeKey + "\" }", fakeKey, "k1", true, nil, ""},
		{"no key", `{"key_id":"k1"}`, "", "", false, ErrNoKey, ""},
		{"empty key", `{"api_key":""}`, "", "", false, ErrNoKey, ""},
		{"bad json", `{"api_key":"` + fakeKey, "", "", false, ErrMalformed, ""},
		{"number", `{"api_key":1}`, "", "", false, ErrMalformed, ""},
		{"key as id", `{"api_key":"` + fakeKey + `","key_id":"` + fakeKey + `"}`, "", "", false, ErrBadID, ""},
		{"escaped", `{"api_key":"sk-\u0061bc"}`, "sk-abc", "", true, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := Decode(secret.FromString(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				leakcheck.Assert(t, "the error", []byte(err.Error()), fakeKey)
				return
			}
			if string(st.Key.Bytes()) != tc.key || st.KeyID != tc.keyID || st.JSON != tc.json || st.IDs["service_account_id"] != tc.svcAccountID {
				t.Errorf("got key ok=%v id %q json %v ids %v", string(st.Key.Bytes()) == tc.key, st.KeyID, st.JSON, st.IDs)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	v, err := Encode(secret.FromString(fakeKey), "key_1", map[string]string{"service_account_id": "svc_acct_9"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(v.Bytes()), `{"api_key":"`+fakeKey+`","key_id":"key_1","service_account_id":"svc_acct_9"}`; got != want {
		t.Fatalf("encoded form differs (lengths %d, %d)", len(got), len(want))
	}
	st, err := Decode(v)
	if err != nil || string(st.Key.Bytes()) != fakeKey || st.KeyID != "key_1" || st.IDs["service_account_id"] != "svc_acct_9" {
		t.Fatalf("round trip: %v id %q ids %v", err, st.KeyID, st.IDs)
	}
	if _, err := Encode(secret.FromString(fakeKey), fakeKey, nil); !errors.Is(err, ErrBadID) {
		t.Fatalf("a key as key_id: %v", err)
	}
}

// FuzzDecode: Decode never panics, never puts input in an error, and what it
// accepts as JSON re-encodes to something that decodes to the same key.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{fakeKey, `{"api_key":"x","key_id":"k"}`, `{"api_key":"\u0000"}`, `{`, `{"api_key":null}`, `{"a":{"b":1}}`, ` {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := Decode(secret.New(in))
		if err != nil {
			// Value-free by construction: the text is one of the fixed
			// messages, whatever the input.
			switch err.Error() {
			case ErrMalformed.Error(), ErrNoKey.Error(), ErrBadID.Error(), fmt.Sprintf("%v (larger than %d bytes)", ErrMalformed, MaxSize):
			default:
				t.Fatalf("error text depends on the input: %d bytes", len(err.Error()))
			}
			return
		}
		if st.Key.IsZero() && len(in) > 0 && st.JSON {
			t.Fatal("JSON form accepted with an empty key")
		}
		if !st.JSON {
			return
		}
		re, err := Encode(st.Key, st.KeyID, st.IDs)
		if err != nil {
			return // a key needing escapes: decodable, not re-encodable by design
		}
		back, err := Decode(re)
		if err != nil || string(back.Key.Bytes()) != string(st.Key.Bytes()) || back.KeyID != st.KeyID {
			t.Fatalf("re-encoded form does not decode to the same key: %v", err)
		}
	})
}
