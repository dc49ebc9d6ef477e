package exchange

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/keylease/keylease/transport"
)

// maxSecretValue is Secrets Manager's documented limit on one secret value.
const maxSecretValue = 64 << 10

// The bounds of each endpoint. Answers are small: a token of a few KiB, a
// discovery document and a key set of a few KiB, an STS answer of ~4 KiB.
// A Secrets Manager batch holds up to 20 values of 64 KiB each; JSON may
// escape a byte as \u00XX (6 bytes), plus each entry's name, ARN, version and
// dates, plus the envelope.
var (
	oidcTokenLimits = transport.Limits{Endpoint: StageOIDCToken, MaxBody: 64 << 10, AttemptTimeout: 15 * time.Second,
		RefuseRedirects: true} // the runner's token endpoint never redirects: the request token must not follow one
	discoveryLimits = transport.Limits{Endpoint: StageOIDCDiscovery, MaxBody: 1 << 20, AttemptTimeout: 15 * time.Second}
	jwksLimits      = transport.Limits{Endpoint: StageJWKS, MaxBody: 1 << 20, AttemptTimeout: 15 * time.Second}
	stsLimits       = transport.Limits{Endpoint: StageSTS, MaxBody: 1 << 20, AttemptTimeout: 15 * time.Second}
	smLimits        = transport.Limits{Endpoint: StageSecretsManager, MaxBody: batchMax*(6*maxSecretValue+8<<10) + 64<<10,
		AttemptTimeout: 20 * time.Second}
)

// newHTTPClient is the base client for the OIDC calls: proxy from the
// environment, every phase bounded. Each endpoint wraps it with its limits.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: transport.NewTransport()}
}

// bound returns c (nil: newHTTPClient) with l applied to its transport.
func bound(c *http.Client, l transport.Limits) *http.Client {
	if c == nil {
		c = newHTTPClient()
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	b := *c
	b.Transport = transport.Wrap(rt, l)
	return &b
}

// newAWSHTTPClient is the SDK's buildable client (so AWS_CA_BUNDLE still
// applies) with the proxy from the environment. Its calls are bounded per
// service (sdkClient), not here.
func newAWSHTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTransportOptions(func(t *http.Transport) {
			t.Proxy = http.ProxyFromEnvironment
			t.ResponseHeaderTimeout = 15 * time.Second
			t.MaxResponseHeaderBytes = 64 << 10
		})
}

// sdkClient bounds the SDK's HTTP client by l.
func sdkClient(d transport.Doer, l transport.Limits) transport.Doer {
	if d == nil {
		d = newAWSHTTPClient()
	}
	return transport.WrapDoer(d, l)
}

// jwksWatch records what happened to the JWKS fetches go-oidc makes, since
// go-oidc flattens a transport error into text (and quotes the body of a
// failed answer): keylease reports from this record, never from that text.
type jwksWatch struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int   // fetches so far
	err  error // the last fetch's transport or body error
	code int   // the last fetch's HTTP status
}

func (w *jwksWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	w.err, w.code = err, 0
	if err != nil {
		return nil, err
	}
	w.code = resp.StatusCode
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w}
	return resp, nil
}

// jwksState is what a jwksWatch saw so far.
type jwksState struct {
	n    int   // fetches
	err  error // the last fetch's transport or body error
	code int   // the last fetch's HTTP status
}

func (w *jwksWatch) state() jwksState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return jwksState{w.n, w.err, w.code}
}

type watchedBody struct {
	io.ReadCloser
	w *jwksWatch
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.w.mu.Lock()
		b.w.err = err
		b.w.mu.Unlock()
	}
	return n, err
}
