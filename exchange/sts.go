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
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, &Error{Op: "aws config", Code: "ConfigError", Message: scrub(err.Error()),
			Hint: "check AWS_PROFILE, AWS_CONFIG_FILE and the AWS_ENDPOINT_URL* variables"}
	}
	return cfg, nil
}

// LocalConfig loads the SDK's default credential chain (environment,
// profiles, SSO, ...) for local runs without OIDC. extra options apply
// before keylease's own.
func LocalConfig(ctx context.Context, region string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append(append([]func(*config.LoadOptions) error{}, extra...), config.WithHTTPClient(newAWSHTTPClient()))
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, &Error{Op: "aws config", Code: "ConfigError", Message: scrub(err.Error()),
			Hint: "check AWS_PROFILE and your AWS config (aws configure / aws sso login)"}
	}
	return cfg, nil
}

// AssumeRole trades a fresh OIDC token from src for a 900-second session of
// roleARN. Throttling, 5xx and network failures are retried with jittered
// backoff, each attempt with a new token (a token can expire while we back
// off); AccessDenied, InvalidIdentityToken, ExpiredTokenException,
// IDPRejectedClaim and every other client error are not.
func AssumeRole(ctx context.Context, awsCfg aws.Config, src TokenSource, roleARN, sessionName string) (*Session, error) {
	const op = "sts:AssumeRoleWithWebIdentity"
	if roleARN == "" {
		return nil, &Error{Op: op, Code: "MissingRoleARN", Message: "no role to assume", Hint: "set --role-arn (action input role-to-assume)"}
	}
	if sessionName == "" {
		sessionName = SessionName("", "")
	}
	client := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		o.Retryer = aws.NopRetryer{} // we retry ourselves, with a fresh token each time
		if o.Region == "" {
			o.Region = stsFallbackRegion
		}
	})
	var last *Error
	for attempt := 1; attempt <= backoff.attempts; attempt++ {
		if attempt > 1 {
			if err := backoff.wait(ctx, attempt-1); err != nil {
				return nil, &Error{Op: op, Code: "Canceled", Message: err.Error(), cause: contextErr(err)}
			}
		}
		tok, id, err := src.Token(ctx)
		if err != nil {
			return nil, err
		}
		out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(roleARN),
			RoleSessionName:  aws.String(sessionName),
			WebIdentityToken: aws.String(string(tok.Bytes())),
			DurationSeconds:  aws.Int32(int32(SessionDuration / time.Second)),
		})
		if err == nil {
			return sessionFrom(out, roleARN, sessionName, id)
		}
		last = stsError(ctx, err, roleARN, id, tok)
		if !last.Retryable || ctx.Err() != nil {
			return nil, last
		}
	}
	last.Message += fmt.Sprintf(" (after %d attempts)", backoff.attempts)
	return nil, last
}

func sessionFrom(out *sts.AssumeRoleWithWebIdentityOutput, roleARN, name string, id *Identity) (*Session, error) {
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil || c.Expiration == nil {
		return nil, &Error{Op: "sts:AssumeRoleWithWebIdentity", Code: "BadResponse", Message: "STS answered without credentials", Hint: "check AWS_ENDPOINT_URL_STS"}
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
func stsError(ctx context.Context, err error, roleARN string, id *Identity, tok secret.Value) *Error {
	e := awsError(ctx, "sts:AssumeRoleWithWebIdentity", "", err, tok)
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
	case "NetworkError":
		e.Hint = "could not reach STS; check the network, HTTPS_PROXY/NO_PROXY and AWS_ENDPOINT_URL_STS"
	default:
		if e.Retryable {
			e.Hint = "STS is throttling or failing; retried with backoff, retry the job later"
		}
	}
	return e
}
