package exchange

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keylease/keylease/secret"
)

// SessionDuration is the STS session length keylease asks for: the minimum
// STS allows. Shorter leases are enforced by keylease's own deadline.
const SessionDuration = 900 * time.Second

// stsFallbackRegion is used when nothing names a region: STS works from any.
const stsFallbackRegion = "us-east-1"

// Session is an STS session. Its secret parts are secret.Values.
type Session struct {
	RoleARN, SessionName string
	Expires              time.Time
	Identity             *Identity // the verified OIDC identity behind it
	AccessKeyID          string    // not secret on its own, still registered for masking
	SecretAccessKey      secret.Value
	SessionToken         secret.Value
}

// Credentials returns a provider of the session's credentials for the SDK.
func (s *Session) Credentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{
			AccessKeyID:     s.AccessKeyID,
			SecretAccessKey: string(s.SecretAccessKey.Bytes()),
			SessionToken:    string(s.SessionToken.Bytes()),
			Source:          "keylease",
			CanExpire:       true,
			Expires:         s.Expires,
		}, nil
	})
}

// Config returns base with the session's credentials.
func (s *Session) Config(base aws.Config) aws.Config {
	c := base.Copy()
	c.Credentials = s.Credentials()
	return c
}

// Secrets returns everything of the session to register with the masker.
func (s *Session) Secrets() []secret.Value {
	return []secret.Value{s.SecretAccessKey, s.SessionToken, secret.FromString(s.AccessKeyID)}
}

var sessionNameBad = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName is "keylease-<run_id>-<attempt>", with every character STS does
// not allow replaced by '-' and cut to STS's 64.
func SessionName(runID, attempt string) string {
	n := "keylease"
	for _, p := range []string{runID, attempt} {
		if p != "" {
			n += "-" + p
		}
	}
	n = sessionNameBad.ReplaceAllString(n, "-")
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// BaseConfig loads the SDK configuration with anonymous credentials, for the
// web identity exchange: region, AWS_ENDPOINT_URL*, profiles' endpoint_url,
// AWS_CA_BUNDLE and HTTPS_PROXY/NO_PROXY apply; no credentials are looked up.
// extra options (e.g. settings taken from an injected environment) apply
// before keylease's own.
func BaseConfig(ctx context.Context, region string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append(append([]func(*config.LoadOptions) error{}, extra...),
		config.WithCredentialsProvider(aws.AnonymousCredentials{}),
		config.WithHTTPClient(newAWSHTTPClient()),
	)
	return loadConfig(ctx, region, opts, "check AWS_PROFILE, AWS_CONFIG_FILE and the AWS_ENDPOINT_URL* variables")
}

// LocalConfig loads the SDK's default credential chain (environment,
// profiles, SSO, ...) for local runs without OIDC. extra options apply
// before keylease's own.
func LocalConfig(ctx context.Context, region string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append(append([]func(*config.LoadOptions) error{}, extra...), config.WithHTTPClient(newAWSHTTPClient()))
	return loadConfig(ctx, region, opts, "check AWS_PROFILE and your AWS config (aws configure / aws sso login)")
}

// loadConfig loads the SDK configuration with opts and region (when set); a
// failure says, scrubbed, what went wrong and, in hint, what to check.
func loadConfig(ctx context.Context, region string, opts []func(*config.LoadOptions) error, hint string) (aws.Config, error) {
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, &Error{Op: "aws config", Code: "ConfigError", Message: scrub(err.Error()), Hint: hint}
	}
	return cfg, nil
}

// DefaultMinValidity is how long a new STS session must still be valid
// for AssumeRole to accept it.
const DefaultMinValidity = time.Minute

// AssumeRole is AssumeRoleFor with DefaultMinValidity.
func AssumeRole(ctx context.Context, awsCfg aws.Config, src TokenSource, roleARN, sessionName string) (*Session, error) {
	return AssumeRoleFor(ctx, awsCfg, src, roleARN, sessionName, DefaultMinValidity)
}

const opSTS = "sts:AssumeRoleWithWebIdentity"

// AssumeRoleFor trades a fresh OIDC token from src for a 900-second session
// of roleARN. Throttling, 5xx and network failures are retried with jittered
// backoff, each attempt with a new token (a token can expire while we back
// off); AccessDenied, InvalidIdentityToken, ExpiredTokenException,
// IDPRejectedClaim, a malformed answer and every other client error are not.
// A session that expires within minValid is refused (an *Error whose
// cause is an *ExpiredSessionError),
// as are credentials that do not have AWS's shape.
func AssumeRoleFor(ctx context.Context, awsCfg aws.Config, src TokenSource, roleARN, sessionName string, minValid time.Duration) (*Session, error) {
	if roleARN == "" {
		return nil, &Error{Op: opSTS, Code: "MissingRoleARN", Message: "no role to assume", Hint: "set --role-arn (action input role-to-assume)"}
	}
	if sessionName == "" {
		sessionName = SessionName("", "")
	}
	client := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		o.Retryer = aws.NopRetryer{} // we retry ourselves, with a fresh token each time
		o.HTTPClient = sdkClient(o.HTTPClient, stsLimits)
		if o.Region == "" {
			o.Region = stsFallbackRegion
		}
	})
	var sess *Session
	var final error // a token error, returned as it is
	e := retryLoop(ctx, StageSTS, opSTS, func() *Error {
		tok, id, err := src.Token(ctx)
		if err != nil {
			final = err
			return nil
		}
		out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(roleARN),
			RoleSessionName:  aws.String(sessionName),
			WebIdentityToken: aws.String(string(tok.Bytes())),
			DurationSeconds:  aws.Int32(int32(SessionDuration / time.Second)),
		})
		if err != nil {
			return stsError(ctx, err, roleARN, id)
		}
		sess, final = sessionFrom(out, roleARN, sessionName, id, minValid, time.Now())
		return nil
	})
	switch {
	case e != nil:
		return nil, e
	case final != nil:
		return nil, final
	}
	return sess, nil
}

// ExpiredSessionError is an STS session that has expired, or expires within
// the minimum the caller asked for, when STS hands it out.
type ExpiredSessionError struct {
	Expires    time.Time
	MinValid   time.Duration
	ReceivedAt time.Time
}

func (e *ExpiredSessionError) Error() string {
	return "STS returned credentials that expire at " + e.Expires.UTC().Format(time.RFC3339) +
		", less than " + e.MinValid.String() + " after " + e.ReceivedAt.UTC().Format(time.RFC3339)
}

// The shapes of STS credentials (AWS: an access key id of 16–128 upper-case
// letters and digits; a 40-character secret key; a session token of
// base64). Anything else is a malformed answer, not a value to mask.
var (
	accessKeyIDRe  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	secretKeyRe    = regexp.MustCompile(`^[A-Za-z0-9/+=]{40,128}$`)
	sessionTokenRe = regexp.MustCompile(`^[A-Za-z0-9/+=]+$`) // and 16–8192 long: regexp counts to 1000 only
)

func sessionFrom(out *sts.AssumeRoleWithWebIdentityOutput, roleARN, name string, id *Identity, minValid time.Duration, now time.Time) (*Session, error) {
	bad := func(msg string) error {
		return &Error{Op: opSTS, Code: "BadResponse", Message: "STS's answer is malformed: " + msg,
			Hint: "these are keylease's own AWS credentials, not policy values; check AWS_ENDPOINT_URL_STS and any proxy"}
	}
	c := out.Credentials
	switch {
	case c == nil || (c.AccessKeyId == nil && c.SecretAccessKey == nil && c.SessionToken == nil):
		return nil, bad("it has no credentials (an empty answer)")
	case c.AccessKeyId == nil || !accessKeyIDRe.MatchString(*c.AccessKeyId):
		return nil, bad("AccessKeyId is missing or is not 16–128 upper-case letters and digits")
	case c.SecretAccessKey == nil || !secretKeyRe.MatchString(*c.SecretAccessKey):
		return nil, bad("SecretAccessKey is missing or is not 40–128 base64 characters")
	case c.SessionToken == nil || len(*c.SessionToken) < 16 || len(*c.SessionToken) > 8192 || !sessionTokenRe.MatchString(*c.SessionToken):
		return nil, bad("SessionToken is missing or is not 16–8192 base64 characters")
	case c.Expiration == nil:
		return nil, bad("Expiration is missing")
	case c.Expiration.Before(now.Add(minValid)):
		ee := &ExpiredSessionError{Expires: *c.Expiration, MinValid: minValid, ReceivedAt: now}
		return nil, &Error{Op: opSTS, Code: "ExpiredSession", Message: ee.Error() + "; nothing was fetched with them",
			Hint: "check this machine's clock, and AWS_ENDPOINT_URL_STS", cause: ee}
	case c.Expiration.After(now.Add(36 * time.Hour)):
		return nil, bad("Expiration is more than 36 hours away, longer than any STS session")
	}
	return &Session{
		RoleARN: roleARN, SessionName: name, Expires: *c.Expiration, Identity: id,
		AccessKeyID:     *c.AccessKeyId,
		SecretAccessKey: secret.FromString(*c.SecretAccessKey),
		SessionToken:    secret.FromString(*c.SessionToken),
	}, nil
}

// stsError maps an STS failure to a message that shows the token's
// non-secret claims, so the trust policy can be fixed.
func stsError(ctx context.Context, err error, roleARN string, id *Identity) *Error {
	e := awsError(ctx, StageSTS, opSTS, "", err)
	claims := ""
	if id != nil {
		claims = fmt.Sprintf(" (token sub=%q aud=%q iss=%q)", id.Subject, id.Audience, id.Issuer)
	}
	switch e.Code {
	case "AccessDenied":
		e.Retryable = false
		e.Message += claims
		e.Hint = "the trust policy of " + roleARN + " does not admit this token: its token.actions.githubusercontent.com:sub and :aud conditions must match the sub and aud shown, and the role ARN must be right"
	case "InvalidIdentityToken":
		e.Retryable = false
		e.Message += claims
		e.Hint = "the role's account needs an IAM OIDC identity provider for the issuer shown, with the audience shown in its audience list"
	case "ExpiredTokenException", "ExpiredToken":
		e.Retryable = false
		e.Message += claims
		e.Hint = "the token expired before STS checked it; check the runner's clock"
	case "IDPRejectedClaim":
		e.Retryable = false
		e.Message += claims
		e.Hint = "the identity provider rejected a claim; check the trust policy's conditions against the sub and aud shown"
	case "ValidationError":
		e.Retryable = false
		e.Hint = "check --role-arn and the session name"
	case "RegionDisabledException":
		e.Hint = "activate STS in this region (IAM account settings) or set another --region"
	case "NetworkError", "Timeout":
		e.Hint = "could not reach STS; check the network, HTTPS_PROXY/NO_PROXY and AWS_ENDPOINT_URL_STS"
	case "BadResponse", "ResponseTooLarge", "Redirect", BadErrorCode:
		e.Hint = "STS did not answer as STS does; check AWS_ENDPOINT_URL_STS and any proxy"
	case "SetupTimeout", "Canceled":
	default:
		if e.Retryable {
			e.Hint = "STS is throttling or failing; retried with backoff, retry the job later"
		}
	}
	return e
}
