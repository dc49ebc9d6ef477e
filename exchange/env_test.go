package exchange_test

// These tests set process environment variables (t.Setenv), so they cannot
// run in parallel.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
)

// cleanAWSEnv clears what the machine running the tests may have set.
func cleanAWSEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CA_BUNDLE",
	} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func startStack(t *testing.T) *emulators.Stack {
	t.Helper()
	st, err := emulators.StartAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Local mode: the default credential chain reads a profile whose static keys
// the Secrets Manager emulator accepts and whose endpoint_url points at it.
func TestLocalModeProfile(t *testing.T) {
	cleanAWSEnv(t)
	st := startStack(t)
	akid, sk := st.StaticKey()
	st.SM.Put("eu-central-1", "kv/openai/local", smfake.Value{String: openaiKey})
	st.SM.Put("eu-central-1", "kv/xai/local", smfake.Value{String: xaiKey})
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	writeFile(t, cfgFile, "[profile keylease-dev]\nregion = eu-central-1\nendpoint_url = "+st.SM.URL()+"\n")
	writeFile(t, credFile, "[keylease-dev]\naws_access_key_id = "+akid+"\naws_secret_access_key = "+sk+"\n")
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_PROFILE", "keylease-dev")

	cfg, err := exchange.LocalConfig(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := exchange.NewFetcher(cfg).Fetch(context.Background(), []exchange.Request{
		{Label: "kv://openai/local", SecretID: "kv/openai/local", RequiredPrefix: "sk-", Vendor: "openai"},
		{Label: "kv://xai/local", SecretID: "kv/xai/local", RequiredPrefix: "xai-", Vendor: "xai"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Value.Bytes()) != openaiKey || string(got[1].Value.Bytes()) != xaiKey {
		t.Fatal("local mode fetched wrong values")
	}
	if n := st.SM.RegionCalls("eu-central-1"); n != 1 {
		t.Errorf("eu-central-1 calls = %d, want 1 batch", n)
	}

	// A wrong key in the profile is refused without echoing anything.
	writeFile(t, credFile, "[keylease-dev]\naws_access_key_id = "+akid+"\naws_secret_access_key = not-the-right-secret-key-0123456789\n")
	cfg, err = exchange.LocalConfig(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = exchange.NewFetcher(cfg).Fetch(context.Background(), []exchange.Request{{Label: "kv://openai/local", SecretID: "kv/openai/local"}})
	var e *exchange.Error
	if !errors.As(err, &e) || e.Code != "InvalidSignatureException" {
		t.Fatalf("err = %v, want InvalidSignatureException", err)
	}
	assertNoSecret(t, errText(err), sk, "not-the-right-secret-key-0123456789", openaiKey, xaiKey)
}

// Every standard endpoint variable reaches the SDK clients, for the
// anonymous STS config and the session's Secrets Manager config alike.
func TestEndpointEnvVars(t *testing.T) {
	const dead = "http://127.0.0.1:1" // nothing listens: a call sent here fails
	tests := []struct {
		name string
		env  func(st *emulators.Stack) map[string]string
	}{
		{"AWS_ENDPOINT_URL", func(st *emulators.Stack) map[string]string {
			return map[string]string{"AWS_ENDPOINT_URL": st.AWSURL()}
		}},
		{"AWS_ENDPOINT_URL_STS and _SECRETS_MANAGER override AWS_ENDPOINT_URL", func(st *emulators.Stack) map[string]string {
			return map[string]string{"AWS_ENDPOINT_URL": dead, "AWS_ENDPOINT_URL_STS": st.STS.URL(), "AWS_ENDPOINT_URL_SECRETS_MANAGER": st.SM.URL()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanAWSEnv(t)
			st := startStack(t)
			st.SM.Put("ap-southeast-2", "kv/openai/ci", smfake.Value{String: openaiKey})
			t.Setenv("AWS_REGION", "ap-southeast-2")
			for k, v := range tt.env(st) {
				t.Setenv(k, v)
			}
			ctx := context.Background()
			base, err := exchange.BaseConfig(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			src := exchange.NewOIDC(exchange.OIDCConfig{
				RequestURL: st.OIDC.RequestURL(), RequestToken: secretOf(st.OIDC.RequestToken()), Issuer: st.OIDC.Issuer(),
			})
			sess, err := exchange.AssumeRole(ctx, base, src, st.RoleARN, "endpoint-test")
			if err != nil {
				t.Fatal(err)
			}
			got, err := exchange.NewFetcher(sess.Config(base)).Fetch(ctx, []exchange.Request{{Label: "kv://openai/ci", SecretID: "kv/openai/ci"}})
			if err != nil {
				t.Fatal(err)
			}
			if string(got[0].Value.Bytes()) != openaiKey {
				t.Fatal("wrong value")
			}
			if st.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity) != 1 || st.SM.RegionCalls("ap-southeast-2") != 1 {
				t.Errorf("calls: sts %d, sm(ap-southeast-2) %d; want 1 each",
					st.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity), st.SM.RegionCalls("ap-southeast-2"))
			}
		})
	}
}

// Each per-service variable alone: with only it set (and the other service
// pointed nowhere), its service is reached.
func TestEndpointEnvVarEach(t *testing.T) {
	for _, name := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		t.Run(name, func(t *testing.T) {
			cleanAWSEnv(t)
			st := startStack(t)
			st.SM.Put("us-east-1", "kv/openai/ci", smfake.Value{String: openaiKey})
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
			ctx := context.Background()
			if name == "AWS_ENDPOINT_URL_STS" {
				t.Setenv(name, st.STS.URL())
				base, err := exchange.BaseConfig(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				src := exchange.NewOIDC(exchange.OIDCConfig{RequestURL: st.OIDC.RequestURL(), RequestToken: secretOf(st.OIDC.RequestToken()), Issuer: st.OIDC.Issuer()})
				if _, err := exchange.AssumeRole(ctx, base, src, st.RoleARN, "each"); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Setenv(name, st.SM.URL())
			akid, sk := st.StaticKey()
			t.Setenv("AWS_ACCESS_KEY_ID", akid)
			t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
			cfg, err := exchange.LocalConfig(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := exchange.NewFetcher(cfg).Fetch(ctx, []exchange.Request{{Label: "kv://openai/ci", SecretID: "kv/openai/ci"}})
			if err != nil || string(got[0].Value.Bytes()) != openaiKey {
				t.Fatalf("fetch via %s: %v", name, err)
			}
			assertNoSecret(t, errText(err), sk, openaiKey)
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
