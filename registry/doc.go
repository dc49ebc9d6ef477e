// Package registry loads and validates keylease's two configuration files, the
// secrets registry (configs/secrets-registry.yaml: vendor → environment → ref,
// scope labels, TTL and value-free lifecycle metadata) and the secrets policy
// (configs/secrets-policy.json: allowlist, required prefixes, flags, TTL caps,
// rotation cadence, backends), and resolves a lease request to a LeaseSpec.
//
// Both files hold references only (SL2, SL8). Anything that looks like a secret
// value is a configuration error that names the file, line and field and never
// repeats the value. Every problem found is reported, each with its position,
// as a Problems error. JSON Schemas for both files are embedded (and shipped
// under registry/schema/ for editors); the semantic rules that a schema cannot
// express (allowlist, TTL caps per environment, ref syntax) are checked in Go.
package registry
