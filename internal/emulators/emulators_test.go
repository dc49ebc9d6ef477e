package emulators_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keylease/keylease/internal/emulators"
)

func TestStartAll(t *testing.T) {
	t.Parallel()
	st, err := emulators.StartAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}()
	env := strings.Join(st.Env(), "\n")
	for _, k := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + st.OIDC.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN=", "AWS_ENDPOINT_URL_STS=" + st.STS.URL(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + st.SM.URL(), "AWS_REGION=us-east-1", "KEYLEASE_OIDC_ISSUER=" + st.OIDC.Issuer()} {
		if !strings.Contains(env, k) {
			t.Errorf("Env lacks %s", k)
		}
	}
	arn := st.Seed("kv/openai/demo", "sk-demo-0123456789abcdef")
	id, key := st.StaticKey()
	// The combined URL routes JSON 1.1 calls to Secrets Manager.
	sm := secretsmanager.New(secretsmanager.Options{
		Region: st.Region, BaseEndpoint: aws.String(st.AWSURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: key}, nil
		}),
	})
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil || aws.ToString(out.SecretString) != "sk-demo-0123456789abcdef" {
		t.Fatalf("GetSecretValue through AWSURL: %v", err)
	}
}
