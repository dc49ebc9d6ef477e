// Package exchange turns a job's identity into vendor keys: it requests the
// GitHub Actions OIDC token and verifies it (go-oidc), trades it with AWS STS
// for a 900-second session (AssumeRoleWithWebIdentity, a fresh token per
// retry), or uses the AWS default credential chain locally, and reads the
// keys from Secrets Manager (batched per region). Every call goes through the
// bounded transport (package transport): a cap on each endpoint's decoded
// body, a timeout per attempt that covers the body, no redirects from the
// runner's token endpoint. Every secret it handles is a secret.Value; every
// error it returns is an *Error that carries no secret: a server's error is
// kept as its code (when it has AWS's shape) and a message only when it is a
// known AWS text. When the caller's context runs out, the *Error unwraps to
// a *StageTimeoutError naming the stage.
package exchange
