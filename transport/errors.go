package transport

import (
	"context"
	"strconv"
	"time"
)

// The errors below say which endpoint and which bound, never what the server
// sent. Each answers the AWS SDK's retry classifiers (RetryableError), so an
// SDK retryer and keylease's own retries agree on what is worth another try.

// BodyLimitError is a response body larger than the endpoint's cap.
type BodyLimitError struct {
	Endpoint string
	Limit    int64
}

func (e *BodyLimitError) Error() string {
	return e.Endpoint + ": the response body is larger than this endpoint's cap of " + strconv.FormatInt(e.Limit, 10) +
		" bytes (after decompression), so it was not read; the server is not answering as it should: check the endpoint URL and any proxy"
}

// RetryableError is false: a server that sent too much once will again.
func (*BodyLimitError) RetryableError() bool { return false }

// AttemptTimeoutError is one attempt that did not get its whole answer,
// headers and body, within the attempt's timeout.
type AttemptTimeoutError struct {
	Endpoint string
	Limit    time.Duration
}

func (e *AttemptTimeoutError) Error() string {
	return e.Endpoint + ": no complete answer within " + e.Limit.String() +
		" (headers and body); the server or the network is too slow: retry later, and check any proxy"
}

// RetryableError is true: a slow network may recover.
func (*AttemptTimeoutError) RetryableError() bool { return true }

// Timeout marks it a timeout for net.Error-style checks.
func (*AttemptTimeoutError) Timeout() bool { return true }

// Unwrap is context.DeadlineExceeded, the attempt's own deadline.
func (*AttemptTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// RedirectError is a redirect from an endpoint that must not redirect.
type RedirectError struct {
	Endpoint string
	Status   int
}

func (e *RedirectError) Error() string {
	return e.Endpoint + ": the server answered with a redirect (HTTP " + strconv.Itoa(e.Status) +
		"), which this endpoint never sends; it was not followed, so the request's credentials stayed here: check the endpoint URL and any proxy"
}

// RetryableError is false.
func (*RedirectError) RetryableError() bool { return false }

// EncodingError is a body in a Content-Encoding other than gzip, which
// could not be counted as the caller reads it.
type EncodingError struct {
	Endpoint string
}

func (e *EncodingError) Error() string {
	return e.Endpoint + ": the response is in a Content-Encoding other than gzip or identity, which keylease does not read; check the endpoint URL and any proxy"
}

// RetryableError is false.
func (*EncodingError) RetryableError() bool { return false }

// BodyReadError is a body that broke off (a reset or a close mid-body), or a
// gzip body that is not gzip.
type BodyReadError struct {
	Endpoint    string
	BadEncoding bool
	err         error
}

func (e *BodyReadError) Error() string {
	if e.BadEncoding {
		return e.Endpoint + ": the response claims gzip but is not a gzip stream; check the endpoint URL and any proxy"
	}
	return e.Endpoint + ": the connection broke while the response body was read; retry, and check the network and any proxy"
}

// RetryableError is true for a broken connection, false for a bad encoding.
func (e *BodyReadError) RetryableError() bool { return !e.BadEncoding }

// ConnectionError is true for a broken connection (the SDK's classifier).
func (e *BodyReadError) ConnectionError() bool { return !e.BadEncoding }

// Unwrap returns the read error (for errors.Is checks; its text is not used).
func (e *BodyReadError) Unwrap() error { return e.err }
