package vendorapi_test

import (
	"context"
	"fmt"

	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// A rotation mints a key, checks it, and retires the old one, all through
// the small interfaces; here against the OpenAI emulator.
func Example() {
	fake, err := vendorfake.StartOpenAI()
	if err != nil {
		panic(err)
	}
	defer func() { _ = fake.Close() }()
	admin := secret.FromString(fake.AddAdminKey())
	oai, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: func(k string) string {
		if k == "OPENAI_BASE_URL" {
			return fake.BaseURL()
		}
		return ""
	}})
	if err != nil {
		panic(err)
	}
	var (
		minter   vendorapi.Minter    = oai.Project(admin, "proj_1")
		check    vendorapi.Validator = oai
		disabler vendorapi.Disabler  = oai.Project(admin, "proj_1")
	)
	ctx := context.Background()
	old, _ := minter.Mint(ctx, "keylease-rot-1")
	next, _ := minter.Mint(ctx, "keylease-rot-2")
	v, _ := check.Check(ctx, next.Key)
	fmt.Println("new key:", v, next.Key)
	_ = disabler.Disable(ctx, old.ID)
	v, _ = check.Check(ctx, old.Key)
	fmt.Println("old key:", v)
	// Output:
	// new key: valid [redacted]
	// old key: invalid
}
