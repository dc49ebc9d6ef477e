package lease

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

func TestAWSEnvPinsSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AWS_DEFAULT_REGION": "eu-west-3", "AWS_CONFIG_FILE": "/nonexistent/config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE": "p", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:2",
	}
	e := awsEnv(func(k string) string { return env[k] })
	if got := e.region(""); got != "eu-west-3" {
		t.Errorf("region %q, want AWS_DEFAULT_REGION's", got)
	}
	if got := e.region("us-east-2"); got != "us-east-2" {
		t.Errorf("region %q, want the flag's", got)
	}
	var lo config.LoadOptions
	for _, f := range e.loadOptions(false) {
		if err := f(&lo); err != nil {
			t.Fatal(err)
		}
	}
	if lo.SharedConfigFiles[0] != "/nonexistent/config" || lo.SharedCredentialsFiles[0] != "/nonexistent/credentials" ||
		lo.EC2IMDSClientEnableState != imds.ClientDisabled || lo.SharedConfigProfile != "p" ||
		lo.BaseEndpoint != "http://127.0.0.1:1" || lo.Credentials != nil {
		t.Errorf("load options %+v do not follow the injected environment", lo)
	}
	// The default chain keeps its own profile choice; static keys come first.
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "AKIAEXAMPLEEXAMPLE00", "secret"
	lo = config.LoadOptions{}
	for _, f := range e.loadOptions(true) {
		_ = f(&lo)
	}
	if lo.SharedConfigProfile != "" || lo.Credentials == nil {
		t.Fatalf("default chain: profile %q, credentials %v", lo.SharedConfigProfile, lo.Credentials)
	}
	c, err := lo.Credentials.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIAEXAMPLEEXAMPLE00" {
		t.Errorf("credentials %q, %v", c.AccessKeyID, err)
	}
	u, ok, _ := serviceEndpoints(e).GetServiceBaseEndpoint(context.Background(), "Secrets Manager")
	if !ok || u != "http://127.0.0.1:2" {
		t.Errorf("Secrets Manager endpoint %q %v", u, ok)
	}
	if _, ok, _ := serviceEndpoints(e).GetServiceBaseEndpoint(context.Background(), "STS"); ok {
		t.Error("an STS endpoint appeared from nowhere")
	}
}
