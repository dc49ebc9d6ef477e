package lease

import (
	"cmp"
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// awsEnv is the AWS SDK's view of the lease's environment (IO.Getenv). The
// SDK reads os.Getenv itself; pinning here what it would take from there lets
// a caller that runs in-process (the demo, tests) point the lease at other
// endpoints without changing the process environment. Under `keylease exec`
// getenv is os.Getenv and the result is what the SDK would have read anyway.
// Settings not listed here (FIPS, retry mode, CA bundle, proxies) still come
// from the process environment, and so does the default credential chain's
// choice of profile and web identity (a profile set here would outrank them).
type awsEnv func(string) string

// region is the flag's region, else AWS_REGION, else AWS_DEFAULT_REGION.
func (e awsEnv) region(flag string) string {
	return cmp.Or(flag, e("AWS_REGION"), e("AWS_DEFAULT_REGION"))
}

// loadOptions pins the shared files, instance metadata and the global
// endpoint. With creds (the default chain) it adds static credentials from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the chain's first link;
// without, the profile named by AWS_PROFILE or AWS_DEFAULT_PROFILE.
func (e awsEnv) loadOptions(creds bool) []func(*config.LoadOptions) error {
	cfgFile, credFile := e("AWS_CONFIG_FILE"), e("AWS_SHARED_CREDENTIALS_FILE")
	if cfgFile == "" {
		cfgFile = config.DefaultSharedConfigFilename()
	}
	if credFile == "" {
		credFile = config.DefaultSharedCredentialsFilename()
	}
	imdsState := imds.ClientEnabled
	if strings.EqualFold(e("AWS_EC2_METADATA_DISABLED"), "true") {
		imdsState = imds.ClientDisabled
	}
	opts := []func(*config.LoadOptions) error{
		config.WithSharedConfigFiles([]string{cfgFile}),
		config.WithSharedCredentialsFiles([]string{credFile}),
		config.WithEC2IMDSClientEnableState(imdsState),
	}
	if p := cmp.Or(e("AWS_PROFILE"), e("AWS_DEFAULT_PROFILE")); p != "" && !creds {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	if u := e("AWS_ENDPOINT_URL"); u != "" {
		opts = append(opts, config.WithBaseEndpoint(u))
	}
	if id, key := e("AWS_ACCESS_KEY_ID"), e("AWS_SECRET_ACCESS_KEY"); creds && id != "" && key != "" {
		c := aws.Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: e("AWS_SESSION_TOKEN"), Source: "EnvConfigCredentials"}
		opts = append(opts, config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return c, nil
		})))
	}
	return opts
}

// withEndpoints puts the per-service AWS_ENDPOINT_URL_<SERVICE> variables of
// e first among cfg's configuration sources, where every service client looks
// for its base endpoint.
func (e awsEnv) withEndpoints(cfg aws.Config) aws.Config {
	cfg.ConfigSources = append([]any{serviceEndpoints(e)}, cfg.ConfigSources...)
	return cfg
}

// serviceEndpoints answers the SDK's per-service endpoint lookup
// (GetServiceBaseEndpoint, the interface of the SDK's configuration sources)
// from AWS_ENDPOINT_URL_<SDK ID, upper case, spaces as '_'>.
type serviceEndpoints func(string) string

// GetServiceBaseEndpoint implements the SDK's ServiceBaseEndpointProvider.
func (s serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u := s("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return u, u != "", nil
}
