package lease

import (
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/keylease/keylease/secret"
)

// EnvExpiresAt tells the child its deadline (RFC 3339, UTC).
const EnvExpiresAt = "KEYLEASE_EXPIRES_AT"

// minting lists the variables that would let the child obtain more
// credentials than the values it was leased: the runner's OIDC endpoint and
// runtime tokens, and every AWS credential source the SDKs read.
var minting = map[string]bool{
	"ACTIONS_ID_TOKEN_REQUEST_URL":   true,
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN": true,
	"ACTIONS_RUNTIME_TOKEN":          true,
	"ACTIONS_RUNTIME_URL":            true,
	"ACTIONS_RESULTS_URL":            true,
	"ACTIONS_CACHE_URL":              true,

	"AWS_ACCESS_KEY_ID":                      true,
	"AWS_SECRET_ACCESS_KEY":                  true,
	"AWS_SESSION_TOKEN":                      true,
	"AWS_SECURITY_TOKEN":                     true,
	"AWS_CREDENTIAL_EXPIRATION":              true,
	"AWS_WEB_IDENTITY_TOKEN_FILE":            true,
	"AWS_ROLE_ARN":                           true,
	"AWS_ROLE_SESSION_NAME":                  true,
	"AWS_PROFILE":                            true,
	"AWS_DEFAULT_PROFILE":                    true,
	"AWS_SHARED_CREDENTIALS_FILE":            true,
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": true,
	"AWS_CONTAINER_CREDENTIALS_FULL_URI":     true,
	"AWS_CONTAINER_AUTHORIZATION_TOKEN":      true,
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": true,
}

// persistence lists the runner's file commands through which a step's
// values reach later steps; the child does not get them under no_persistence.
var persistence = []string{"GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STATE"}

// reserved reports whether a lease may not go into the variable: the
// deadline, what could mint credentials, and the runner's file commands.
func reserved(name string) bool {
	k := envKey(name)
	if k == EnvExpiresAt || minting[k] {
		return true
	}
	for _, p := range persistence {
		if k == p {
			return true
		}
	}
	// The summary is a file command too: leasing into its name would point
	// the runner's summary upload at the value.
	return k == "GITHUB_STEP_SUMMARY"
}

// envKey normalizes a variable name for comparison: Windows names are
// case-insensitive, and dropping "aws_session_token" too costs nothing on unix.
func envKey(k string) string { return strings.ToUpper(k) }

// childEnv builds the child's complete environment: the parent's minus what
// could mint more credentials (and, under noPersistence, the file commands),
// plus the leased variables and the deadline. Leased names replace inherited
// ones (a GitHub secret of the same name does not shadow the lease).
func childEnv(parent []string, leased map[string]secret.Value, expires time.Time, noPersistence bool) []string {
	drop := map[string]bool{envKey(EnvExpiresAt): true}
	for k := range leased {
		drop[envKey(k)] = true
	}
	if noPersistence {
		for _, k := range persistence {
			drop[k] = true
		}
	}
	out := make([]string, 0, len(parent)+len(leased)+1)
	for _, kv := range parent {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || (k == "" && runtime.GOOS != "windows") {
			continue
		}
		if nk := envKey(k); minting[nk] || drop[nk] {
			continue
		}
		out = append(out, kv)
	}
	names := make([]string, 0, len(leased))
	for k := range leased {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// The one place a value becomes a string: the OS needs "K=V".
		out = append(out, k+"="+string(leased[k].Bytes()))
	}
	if !expires.IsZero() {
		out = append(out, EnvExpiresAt+"="+expires.UTC().Format(time.RFC3339))
	}
	return out
}
