package exchange

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
)

// Error is every error the package returns. It carries the operation, the
// ref it concerns, the AWS (or keylease) error code, a short message and what
// to do — never a credential, token or secret value. AWS errors are reduced
// to their code, replaced by BadErrorCode unless it has AWS's shape, and
// their message, replaced by WithheldMessage unless it is a known AWS text.
type Error struct {
	Op        string // "oidc token", "sts:AssumeRoleWithWebIdentity", "secretsmanager:GetSecretValue", ...
	Ref       string // the ref as written, or "" when the error is not about one ref
	Code      string // AWS error code, or a keylease code (MissingOIDCEnv, JSONKeyNotFound, PrefixMismatch, ...)
	Message   string
	Hint      string
	Retryable bool // true when retrying later may succeed (throttling, 5xx, network)

	cause error // context errors, *StageTimeoutError, *UnusableValueError: for errors.Is/As
}

// Error implements error: "<op> <ref>: <code>: <msg>; <hint>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	for _, part := range [...]struct{ sep, text string }{{" ", e.Ref}, {": ", e.Code}, {": ", e.Message}, {"; ", e.Hint}} {
		if part.text != "" {
			b.WriteString(part.sep)
			b.WriteString(part.text)
		}
	}
	return b.String()
}

// Unwrap returns the typed cause (the end of the context, a stage timeout,
// an unusable value), if any.
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

// Stages of obtaining a lease, as a StageTimeoutError names them.
const (
	StageOIDCToken      = "oidc-token"
	StageOIDCDiscovery  = "oidc-discovery"
	StageJWKS           = "jwks"
	StageSTS            = "sts"
	StageSecretsManager = "secretsmanager"
)

// StageTimeoutError is the caller's deadline running out while keylease was
// at Stage. It unwraps to context.DeadlineExceeded.
type StageTimeoutError struct {
	Stage string
}

func (e *StageTimeoutError) Error() string {
	return "the setup deadline ran out during " + e.Stage
}

// Unwrap is context.DeadlineExceeded.
func (*StageTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// ctxError is the *Error for the end of ctx: a StageTimeoutError when its
// deadline passed, Canceled otherwise.
func ctxError(ctx context.Context, stage, op, ref string) *Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Op: op, Ref: ref, Code: "SetupTimeout", Message: "the setup deadline ran out during " + stage,
			Hint:  "raise --setup-timeout, or find out why " + stage + " is slow (network, proxy, endpoint)",
			cause: &StageTimeoutError{Stage: stage}}
	}
	return &Error{Op: op, Ref: ref, Code: "Canceled", Message: context.Canceled.Error(), cause: context.Canceled}
}

// retryables is the SDK's own classification; keylease's transport errors
// answer it (RetryableError).
var retryables = retry.IsErrorRetryables(retry.DefaultRetryables)

// transportError is an *Error for the bounded transport's own failures and
// for plain network failures, or nil when err is neither.
func transportError(op, ref string, err error) *Error {
	var (
		limit    *transport.BodyLimitError
		attempt  *transport.AttemptTimeoutError
		redirect *transport.RedirectError
		enc      *transport.EncodingError
		read     *transport.BodyReadError
	)
	e := &Error{Op: op, Ref: ref}
	switch {
	case errors.As(err, &limit):
		e.Code, e.Message = "ResponseTooLarge", limit.Error()
	case errors.As(err, &attempt):
		e.Code, e.Message, e.Retryable = "Timeout", attempt.Error(), true
	case errors.As(err, &redirect):
		e.Code, e.Message = "Redirect", redirect.Error()
	case errors.As(err, &enc):
		e.Code, e.Message = "BadResponse", enc.Error()
	case errors.As(err, &read):
		e.Code, e.Message, e.Retryable = "NetworkError", read.Error(), read.RetryableError()
		if read.BadEncoding {
			e.Code = "BadResponse"
		}
	case isNetwork(err):
		e.Code, e.Message, e.Retryable = "NetworkError", netReason(err), true
	default:
		return nil
	}
	return e
}

// isNetwork: the SDK's connection classifier, plus a body cut short.
func isNetwork(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// awsError reduces an SDK error to an *Error: a timeout of ctx names the
// stage; a transport or network failure says so (retryable); an API error
// keeps only its code (when it has AWS's shape) and a message only when it
// is a known AWS text, since a hostile or broken server can quote anything
// in it, a secret's value included; an answer that is not the protocol is a
// bad response (not retried).
func awsError(ctx context.Context, stage, op, ref string, err error) *Error {
	if ctx.Err() != nil {
		return ctxError(ctx, stage, op, ref)
	}
	if e := transportError(op, ref, err); e != nil {
		return e
	}
	e := &Error{Op: op, Ref: ref}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = safeCode(api.ErrorCode())
		e.Message = knownMessage(api.ErrorMessage())
		e.Retryable = retryables.IsErrorRetryable(err) == aws.TrueTernary || retryableCode(e.Code)
		return e
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		e.Code, e.Message = "BadResponse", "the answer is not a well-formed "+protocolOf(stage)+" response (HTML, truncated or malformed; a proxy or a wrong endpoint URL can cause this)"
		return e
	}
	if status := httpStatus(err); status >= 200 && status < 300 {
		// A success status whose body the SDK could not read as its answer
		// (a bad date, a missing element): a bad response, not a status.
		e.Code, e.Message = "BadResponse", "the answer is not a well-formed "+protocolOf(stage)+" response (a field has the wrong form or is missing)"
		return e
	} else if status != 0 {
		e.Code = "HTTP" + strconv.Itoa(status)
		e.Message = "unexpected HTTP status"
		e.Retryable = status >= 500 || status == 429
		return e
	}
	e.Code, e.Message = "NetworkError", netReason(err)
	e.Retryable = retryables.IsErrorRetryable(err) == aws.TrueTernary
	return e
}

func protocolOf(stage string) string {
	if stage == StageSTS {
		return "STS (XML)"
	}
	return "Secrets Manager (JSON)"
}

// codeRe is the shape of an AWS error code.
var codeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.]{0,127}$`)

// BadErrorCode stands for an error code that does not have AWS's shape.
const BadErrorCode = "MalformedErrorCode"

func safeCode(c string) string {
	if !codeRe.MatchString(c) {
		return BadErrorCode
	}
	return c
}

// knownMessages are AWS's own texts for the errors keylease meets. Any other
// message is withheld: it could quote a value.
var knownMessages = map[string]bool{
	"Rate exceeded": true,
	"Secrets Manager can't find the specified secret.":                                    true,
	"Secrets Manager can't find the specified secret value for staging label: AWSCURRENT": true,
	"Secrets Manager can't find the specified secret value for staging label: AWSPENDING": true,
	"Secrets Manager can't decrypt the protected secret text using the provided KMS key.": true,
	"You can't perform this operation on the secret because it was marked for deletion.":  true,
	"The security token included in the request is expired":                               true,
	"The security token included in the request is invalid.":                              true,
	"The request signature we calculated does not match the signature you provided.":      true,
	"Token expired: current date/time must be before the expiration date/time":            true,
	"Not authorized to perform sts:AssumeRoleWithWebIdentity":                             true,
	"Incorrect token audience": true,
	"Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements": true,
	"Service is unavailable":                              true,
	"An internal error has occurred":                      true,
	"The service is unavailable. Please try again later.": true,
}

// WithheldMessage replaces a server's message that is not a known AWS text.
const WithheldMessage = "(the server's message is not shown: it is not a known AWS text, so it could quote a value)"

func knownMessage(m string) string {
	switch {
	case m == "":
		return ""
	case knownMessages[m]:
		return m
	}
	return WithheldMessage
}

// retryableCode: the SDK's retryable and throttling codes, and extraCodes.
func retryableCode(code string) bool {
	_, r := retry.DefaultRetryableErrorCodes[code]
	_, t := retry.DefaultThrottleErrorCodes[code]
	return r || t || extraCodes[code]
}

// extraCodes are AWS codes worth another attempt that the SDK's lists lack.
var extraCodes = map[string]bool{
	"IDPCommunicationError": true, "InternalFailure": true, "InternalServiceError": true,
	"ServiceUnavailable": true, "ThrottledException": true, "TooManyRequestsException": true,
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// netReason names a transport failure without echoing URLs or bodies.
func netReason(err error) string {
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset by the server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	case errors.As(err, &dns):
		return "host name lookup failed"
	}
	return "network error"
}
