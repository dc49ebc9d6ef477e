package exchange_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/secret"
)

// A whole lease against the loopback emulators: OIDC token, STS session,
// one Secrets Manager read. In a job, OIDCConfigFromEnv(os.Getenv) and
// BaseConfig(ctx, region) replace the hand-built configuration.
func Example() {
	ctx := context.Background()
	st, err := emulators.StartAll(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = st.Close() }()
	st.Seed("kv/openai/ci", "sk-proj-example-0123456789abcdef")

	src := exchange.NewOIDC(exchange.OIDCConfig{
		RequestURL:   st.OIDC.RequestURL(),
		RequestToken: secret.FromString(st.OIDC.RequestToken()),
		Issuer:       st.OIDC.Issuer(),
		OnToken:      func(secret.Value) { /* register with the log masker here */ },
	})
	base := aws.Config{Region: st.Region, BaseEndpoint: aws.String(st.AWSURL()), HTTPClient: awshttp.NewBuildableClient()}
	sess, err := exchange.AssumeRole(ctx, base, src, st.RoleARN, exchange.SessionName("6100000001", "1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := exchange.NewFetcher(sess.Config(base)).Fetch(ctx, []exchange.Request{
		{Label: "kv://openai/ci", SecretID: "kv/openai/ci", RequiredPrefix: "sk-", Vendor: "openai"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sess.SessionName, sess.Identity.Subject)
	fmt.Println(got[0].Label, got[0].Value, got[0].Value.Len(), "bytes")
	// Output:
	// keylease-6100000001-1 repo:keylease/demo:ref:refs/heads/main
	// kv://openai/ci [redacted] 32 bytes
}
