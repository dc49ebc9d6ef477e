package exchange

import "time"

// Tests must not sleep: keep the retry count, shrink the delays.
func init() {
	backoff = backoffPolicy{attempts: 5, base: time.Millisecond, max: 4 * time.Millisecond}
}

// Scrub exposes scrub to the external tests and fuzzers.
var Scrub = scrub

// NewHTTPClient exposes the OIDC client construction to the proxy test.
var NewHTTPClient = newHTTPClient

// NewAWSHTTPClient exposes the SDK client construction to the proxy test.
var NewAWSHTTPClient = newAWSHTTPClient
