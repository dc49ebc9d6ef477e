// Package vendorapi talks to the OpenAI, Anthropic and xAI HTTP APIs for the
// lifecycle commands: a key's validity check and the admin calls that mint,
// list and retire keys.
//
// The contract:
//   - A key is a secret.Value and goes only into the request's Authorization or
//     x-api-key header: never a URL, a body (except a federation assertion), a
//     log line or an error.
//   - Check answers Valid, Invalid or Indeterminate. Invalid only when the
//     vendor says the key itself is wrong (OpenAI 401 invalid_api_key,
//     Anthropic 401 authentication_error, xAI 400/401, or an xAI 200 whose
//     flags say disabled or blocked). Throttling, 5xx, network failures and
//     missing-permission answers are Indeterminate: a rotation must never
//     retire a key because the vendor was busy.
//   - Errors are *Error values cut to the HTTP status and the vendor's error
//     type/code (checked against a small alphabet and length-capped). The
//     vendor's message is dropped, because vendors quote part of the key in it
//     ("Incorrect API key provided: sk-ab***yz").
//   - Every response body is read through a cap (Options.MaxBody); a longer
//     body is an error, not a truncated decode.
//   - 429 and 503 are retried up to Options.MaxRetries times, waiting the
//     Retry-After the vendor sent (capped by Options.MaxWait) or a short
//     backoff, and never past the context's deadline. Other 5xx are retried
//     only for idempotent calls: a create that failed with 500 may have
//     created, and repeating it would mint a second key.
//   - Lists follow each vendor's cursor (OpenAI and Anthropic: has_more +
//     after/after_id; xAI: paginationToken) and cost ⌈N/PageSize⌉ calls.
//
// Base URLs come from OPENAI_BASE_URL, ANTHROPIC_BASE_URL, XAI_BASE_URL and
// XAI_MANAGEMENT_URL through the injected Getenv, so tests and GHES-like
// proxies point the clients elsewhere without touching the process environment.
//
// Federation (OpenAIFederation at OPENAI_AUTH_URL, default
// https://auth.openai.com/oauth/token; AnthropicFederation at
// ANTHROPIC_BASE_URL/v1/oauth/token) trades a CI job's OIDC token for a
// short-lived vendor token; the OIDC token is the one value that goes into a
// request body, because the OAuth grants carry it there. OAuth error codes
// (invalid_grant, …) are kept like vendor codes.
//
// Consumers define the small interfaces they need; the ones here (Validator,
// Minter, Disabler, Lister, Federator) are the shapes rotate, revoke and audit share, and
// each vendor type satisfies those its API supports (Anthropic has no Minter:
// its keys cannot be created by API, so its rotation is staged).
package vendorapi
