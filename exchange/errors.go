package exchange

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"regexp"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/keylease/keylease/secret"
)

// Error is every error the package returns. It carries the operation, the
// ref it concerns, the AWS (or keylease) error code, a short message and what
// to do — never a credential, token or secret value. AWS errors are reduced
// to their code and message (no request id, no echoed input), scrubbed and
// capped in length.
type Error struct {
	Op        string // "oidc token", "sts:AssumeRoleWithWebIdentity", "secretsmanager:GetSecretValue", ...
	Ref       string // the ref as written, or "" when the error is not about one ref
	Code      string // AWS error code, or a keylease code (MissingOIDCEnv, JSONKeyNotFound, PrefixMismatch, ...)
	Message   string
	Hint      string
	Retryable bool // true when retrying later may succeed (throttling, 5xx, network)

	cause error // only context errors, so errors.Is(err, context.Canceled) works
}

// Error implements error: "<op> <ref>: <code>: <msg>; <hint>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Ref != "" {
		b.WriteString(" ")
		b.WriteString(e.Ref)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the context error that ended the operation, if any.
func (e *Error) Unwrap() error { return e.cause }

// maxMessage caps what an upstream message may add to an error.
const maxMessage = 300

var (
	// JWTs and AWS session tokens must never come back in an echoed message.
	jwtRe   = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	longRe  = regexp.MustCompile(`[A-Za-z0-9+/=_-]{40,}`)
	spaceRe = regexp.MustCompile(`\s+`)
)

// scrub cleans an upstream message: known secrets (and their base64 forms),
// anything JWT-like or long and opaque are replaced, whitespace is folded and
// the result capped.
func scrub(msg string, secrets ...secret.Value) string {
	msg = replaceSecrets(msg, secrets)
	// Folding whitespace could join a secret that had a line break in it
	// back together: replace again afterwards.
	msg = strings.TrimSpace(spaceRe.ReplaceAllString(msg, " "))
	msg = replaceSecrets(msg, secrets)
	msg = jwtRe.ReplaceAllString(msg, secret.Redacted)
	msg = longRe.ReplaceAllString(msg, secret.Redacted)
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return msg
}

func replaceSecrets(msg string, secrets []secret.Value) string {
	b := []byte(msg)
	for _, s := range secrets {
		if s.Len() < 4 {
			continue
		}
		v := s.Bytes()
		b = bytes.ReplaceAll(b, v, []byte(secret.Redacted))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			b = bytes.ReplaceAll(b, []byte(enc.EncodeToString(v)), []byte(secret.Redacted))
		}
	}
	return string(b)
}

// awsError reduces an SDK error to an *Error: the API error's code and
// message only, or a one-word description of a network failure. Only the
// end of ctx counts as cancellation: an HTTP client timeout also wraps
// context.DeadlineExceeded but is a network failure worth a retry.
func awsError(ctx context.Context, op, ref string, err error, secrets ...secret.Value) *Error {
	e := &Error{Op: op, Ref: ref}
	if ctx.Err() != nil {
		ce := contextErr(ctx.Err())
		e.Code, e.Message, e.cause = "Canceled", ce.Error(), ce
		return e
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
		e.Message = scrub(api.ErrorMessage(), secrets...)
		if e.Message == "" {
			e.Message = "no message"
		}
		status := httpStatus(err)
		e.Retryable = retryableCodes[e.Code] || status >= 500
		return e
	}
	if status := httpStatus(err); status != 0 {
		e.Code = "HTTP" + itoa(status)
		e.Message = "unexpected HTTP status"
		e.Retryable = status >= 500 || status == 429
		return e
	}
	e.Code, e.Message = "NetworkError", netReason(err)
	e.Retryable = true
	return e
}

// retryableCodes are AWS codes worth another attempt.
var retryableCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestLimitExceeded": true, "TooManyRequestsException": true,
	"IDPCommunicationError": true, "InternalFailure": true, "InternalServiceError": true,
	"ServiceUnavailable": true, "RequestTimeout": true, "RequestTimeoutException": true,
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func contextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// netReason names a transport failure without echoing URLs or bodies.
func netReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset by the server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case strings.Contains(err.Error(), "EOF"):
		return "the server closed the connection"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "host name lookup failed"
	}
	return "network error"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
