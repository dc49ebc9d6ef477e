// Package exchange turns a job's identity into vendor keys: it requests the
// GitHub Actions OIDC token and verifies it (go-oidc), trades it with AWS STS
// for a 900-second session (AssumeRoleWithWebIdentity, a fresh token per
// retry), or uses the AWS default credential chain locally, and reads the
// keys from Secrets Manager (batched per region). Every secret it handles is
// a secret.Value; every error it returns is an *Error that carries no secret.
package exchange
