package registry

import (
	"crypto/rand"
	"testing"
)

func TestLooksLikeValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" = not value-like
	}{
		{"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", DetectOpenAI},
		{"sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe", DetectAnthropic},
		{"xai-Qw3rTy6uIo9pAs2dFg5hJk8lZx1cVb4n", DetectXAI},
		{"AKIAIOSFODNN7EXAMPLE", DetectAWSKeyID},
		{"id ASIAY34FZKBOKMUTVV7A here", DetectAWSKeyID},
		{"ghp_0123456789abcdefghijABCDEFGHIJ012345", DetectGitHub},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", DetectGitHub},
		{"kv://openai/sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", DetectOpenAI},
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", DetectJWT},
		{"-----BEGIN RSA PRIVATE KEY-----", DetectPrivateKey},
		{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", DetectEntropy},
		{"Xk7pQ2mZ9vR4tL8wN3bY6cH1", DetectEntropy},
		// Not values: prefixes alone, refs, labels, ARNs, words.
		{"sk-", ""},
		{"sk-ant-", ""},
		{"sk-ant-api03-", ""},
		{"xai-", ""},
		{"kv://openai/ci/api_key", ""},
		{"aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:openai/prod/api_key-AbCdEf#key", ""},
		{"llm:chat", ""},
		{"rotate-30d", ""},
		{"openai-production-rotation-2026", ""},
		{"productionrotation2026", ""},
		{"OpenAIProductionServiceAccountKey", ""},
		{"task-runner-for-everything-nightly", ""},
		{"2026-11-01", ""},
		{"AKIA", ""},
		{"AKIAIOSFODNN7EXAMPLEX", ""},
		{"{path}", ""},
		{"keylease/{path}", ""},
		{"OPENAI_API_KEY", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := LooksLikeValue(tt.in)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("LooksLikeValue(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

// awsSecretAlphabet is the alphabet of AWS secret access keys (base64).
const awsSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// randomAWSSecret returns a fresh 40-character AWS-style secret access key.
func randomAWSSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = awsSecretAlphabet[b[i]&63]
	}
	return string(b)
}

// TestLooksLikeValueAWSSecrets: every random AWS secret access key is a
// value, alone and where configuration would carry it (a --ref body, a scope
// label, VAR=value). Before the fix, runs split at '/' and '+' let ~40% pass.
func TestLooksLikeValueAWSSecrets(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20000; i++ {
		k := randomAWSSecret(t)
		for _, s := range []string{k, "kv://openai/" + k, "label:" + k, "AWS_SECRET_ACCESS_KEY=" + k, k + "=="} {
			if _, ok := LooksLikeValue(s); !ok {
				t.Fatalf("LooksLikeValue missed an AWS-style secret (40 chars) in a %d-byte string", len(s))
			}
		}
	}
}

// TestLooksLikeValueNotAWSSecrets: 40-character runs that are names, not
// values, stay allowed.
func TestLooksLikeValueNotAWSSecrets(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"teamalpha/openai/production/nightlyjob1",      // one case, path
		"kv://teamalpha/openai/production/nightlyjobs", // one case, 44
		"AAAAAAAAAAAAAAAAAAAAaaaaaaaaaaaaaaaaaaaa",     // no spread
		"aws-sm://team/alpha/openai/api_key+rotated=2026",
		"c++/openai/ci/api_key",
	} {
		if det, ok := LooksLikeValue(s); ok {
			t.Errorf("LooksLikeValue(%q) = %s, want not value-like", s, det)
		}
	}
}
