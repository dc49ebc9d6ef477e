package registry

import (
	"strings"
	"testing"
)

// fuzzStoreRef parses scheme://body and checks what any parse must hold: a
// ref that parses is rebuilt exactly from its fields and holds nothing a
// terminal or the runner acts on; an error never repeats the body.
func fuzzStoreRef(f *testing.F, scheme string, seeds []string, rebuild func(Ref) string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		raw := scheme + "://" + body
		ref, err := ParseRef(raw, nil)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "ref "+unparsedRef+": ") && !strings.HasPrefix(msg, "ref "+redactedRef+": ") {
				t.Fatalf("error does not start with a placeholder: %q", msg)
			}
			if strings.ContainsAny(msg, "\x00\r\n\x1b") {
				t.Fatalf("error holds a control byte of the input: %q", msg)
			}
			for _, tok := range valueLikeTokens([]byte(raw)) {
				if strings.Contains(msg, tok) {
					t.Fatalf("error repeats a value-like token: %q", msg)
				}
			}
			return
		}
		if ref.Store() != scheme || ref.Raw != raw {
			t.Fatalf("%q parsed as %+v", raw, ref)
		}
		if got := rebuild(ref); got != body {
			t.Fatalf("%q: fields rebuild %q", raw, got)
		}
		if strings.ContainsAny(body, "\x00\r\n\t\x1b%") {
			t.Fatalf("%q parsed with a control or %% byte", raw)
		}
	})
}

func FuzzParseEnvRef(f *testing.F) {
	fuzzStoreRef(f, "env", []string{"OPENAI_CI_KEY", "AWS_X", "1A", ""}, func(r Ref) string { return r.SecretID })
}

func FuzzParseVaultRef(f *testing.F) {
	fuzzStoreRef(f, "vault", []string{"secret/openai/ci#api_key", "kv/a/b/c#k", "secret/../x#k", "s#k"},
		func(r Ref) string { return r.Mount + "/" + r.SecretID + "#" + r.JSONKey })
}

func FuzzParseOPRef(f *testing.F) {
	fuzzStoreRef(f, "op", []string{"CI Keys/OpenAI/credential", "a/b/c/d", "a/b/c?attribute=otp", "a//c"},
		func(r Ref) string { return r.SecretID })
}

func FuzzParseKeychainRef(f *testing.F) {
	fuzzStoreRef(f, "keychain", []string{"keylease.openai/dev", "a:b/c", "a/b/c"},
		func(r Ref) string { return r.SecretID + "/" + r.Account })
}
