package lease

import (
	"path/filepath"

	"github.com/keylease/keylease/internal/testkit"
)

// oidcOptions leases l's one entry the way a runner does (OIDC, then STS,
// then Secrets Manager, all on the emulators) and writes the record into
// l.Dir.
func oidcOptions(l *testkit.Lease, command ...string) Options {
	return Options{RegistryPath: l.Registry, PolicyPath: l.Policy, Env: l.Env, Vendors: []string{l.Vendor},
		RoleARN: l.Stack.RoleARN, OIDCIssuer: l.Vars["KEYLEASE_OIDC_ISSUER"], Identity: IdentityOIDC,
		RecordPath: filepath.Join(l.Dir, "record.json"), Command: command}
}
