package lease

import (
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/secret"
)

// FuzzChildEnv: whatever the parent's environment holds, the child's has no
// variable that could mint credentials (in any letter case), no file command
// under no_persistence, and each leased variable exactly once with its value.
func FuzzChildEnv(f *testing.F) {
	f.Add("AWS_SESSION_TOKEN=x\nPATH=/bin", "OPENAI_API_KEY", true)
	f.Add("aws_access_key_id=y\nOPENAI_API_KEY=old\nopenai_api_key=lower", "OPENAI_API_KEY", false)
	f.Add("GITHUB_ENV=/e\ngithub_output=/o\n=C:=C:\\\\x", "X_API_KEY", true)
	f.Add("ACTIONS_ID_TOKEN_REQUEST_TOKEN=t\nKEYLEASE_EXPIRES_AT=later", "K", true)
	f.Fuzz(func(t *testing.T, parent, name string, noPersist bool) {
		if name == "" || strings.ContainsAny(name, "=\x00\n") || reserved(name) { // resolve refuses reserved names
			return
		}
		val := "leased-value-0123456789"
		exp := time.Unix(1_800_000_000, 0)
		env := childEnv(strings.Split(parent, "\n"), map[string]secret.Value{name: secret.FromString(val)}, exp, noPersist)
		seen := 0
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			uk := strings.ToUpper(k)
			if minting[uk] {
				t.Fatalf("minting variable %q reached the child", k)
			}
			if noPersist {
				for _, p := range persistence {
					if uk == p {
						t.Fatalf("file command %q reached the child under no_persistence", k)
					}
				}
			}
			if uk == strings.ToUpper(name) {
				seen++
				if k != name || v != val {
					t.Fatalf("leased variable %q has another name or value", k)
				}
			}
			if uk == EnvExpiresAt && v != exp.UTC().Format(time.RFC3339) {
				t.Fatalf("%s forged by the parent", EnvExpiresAt)
			}
		}
		if seen != 1 {
			t.Fatalf("leased variable appears %d times", seen)
		}
	})
}
