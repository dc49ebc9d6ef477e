package detect_test

import (
	"fmt"

	"github.com/keylease/keylease/detect"
)

// Name says which rule a pasted value matched, never the value. (AWS's
// documented example key id is split so this file holds no key.)
func ExampleName() {
	for _, s := range []string{"kv://openai/ci/api_key", "AKIA" + "IOSFODNN7EXAMPLE", "Xk7pQ2mZ9vR4tL8wN3bY6cH1"} {
		if id, ok := detect.Name(s); ok {
			fmt.Println("value-like:", id)
		} else {
			fmt.Println("a name")
		}
	}
	// Output:
	// a name
	// value-like: aws-access-key-id
	// value-like: high-entropy
}
