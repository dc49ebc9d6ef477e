package registry_test

import (
	"fmt"

	"github.com/keylease/keylease/registry"
)

func ExampleParseRef() {
	ref, err := registry.ParseRef("aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai/prod-AbCdEf#api_key", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ref.Scheme, ref.Region, ref.JSONKey)

	ref, err = registry.ParseRef("vault://secret/openai/ci#api_key", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ref.Store(), ref.Mount, ref.SecretID, ref.JSONKey)

	_, err = registry.ParseRef("gsm://vault/openai", nil)
	fmt.Println(err)
	// Output:
	// aws-sm eu-west-1 api_key
	// vault secret openai/ci api_key
	// ref [as given, not shown]: has unsupported scheme "gsm"; use kv://, aws-sm://, env://, vault://, op:// or keychain://
}

func ExampleUpdateEntry() {
	in := []byte(`openai:
  ci:
    secret_ref: "kv://openai/ci/api_key"  # the CI key
    scope: ["llm:chat"]
    max_ttl_seconds: 900
    last_rotated: 2026-11-01
`)
	out, err := registry.UpdateEntry(in, "openai", "ci", map[string]any{"last_rotated": "2026-11-28", "revoked": true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// openai:
	//   ci:
	//     secret_ref: "kv://openai/ci/api_key"  # the CI key
	//     scope: ["llm:chat"]
	//     max_ttl_seconds: 900
	//     last_rotated: 2026-11-28
	//     revoked: true
}

func ExampleEnvVarFor() {
	fmt.Println(registry.EnvVarFor("openai"), registry.EnvVarFor("together-ai"), registry.EnvVarFor("01ai"))
	// Output: OPENAI_API_KEY TOGETHER_AI_API_KEY _01AI_API_KEY
}
