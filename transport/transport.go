// Package transport is the bounded HTTP layer every keylease client uses
// (the OIDC token request, go-oidc's discovery and JWKS, the AWS SDK's STS
// and Secrets Manager clients, and any later vendor or GitHub client): a cap
// on the decoded response body, one timeout per attempt that covers reading
// the body, optional refusal of redirects, and HTTPS_PROXY/NO_PROXY.
//
// net/http bounds the phases of a call (dial, TLS, headers) but not how much
// a server may send nor how slowly it may send the body; no library in use
// does both for an arbitrary client, hence this package.
package transport

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults for a Limits field left zero.
const (
	DefaultMaxBody        = 4 << 20
	DefaultAttemptTimeout = 20 * time.Second
)

// Limits bounds the calls to one endpoint.
type Limits struct {
	// Endpoint names the endpoint in errors ("oidc-token", "jwks", "sts",
	// "secretsmanager", ...).
	Endpoint string
	// MaxBody caps the bytes of a response body the caller can read, after
	// any decompression; more is an error. 0: DefaultMaxBody.
	MaxBody int64
	// AttemptTimeout bounds one request from sending it to reading the last
	// byte of its body. 0: DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// RefuseRedirects turns a 3xx with a Location into an error, so the
	// request's credentials never follow it elsewhere.
	RefuseRedirects bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.AttemptTimeout <= 0 {
		l.AttemptTimeout = DefaultAttemptTimeout
	}
	if l.Endpoint == "" {
		l.Endpoint = "http"
	}
	return l
}

// NewTransport is an *http.Transport that honours HTTPS_PROXY, HTTP_PROXY
// and NO_PROXY and bounds the dial, TLS and header phases.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  15 * time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    4,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
	}
}

// New is a client over NewTransport bounded by l.
func New(l Limits) *http.Client {
	return &http.Client{Transport: Wrap(NewTransport(), l)}
}

// Doer is what the AWS SDK (and most API clients) accept as an HTTP client.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Wrap bounds every round trip of rt by l.
func Wrap(rt http.RoundTripper, l Limits) http.RoundTripper {
	return &bounded{next: rt.RoundTrip, l: l.withDefaults(), rt: rt}
}

// WrapDoer bounds every call of d by l. The SDK's clients take a Doer; its
// buildable client is kept underneath so AWS_CA_BUNDLE still applies.
func WrapDoer(d Doer, l Limits) Doer {
	return &bounded{next: d.Do, l: l.withDefaults()}
}

// Base returns the RoundTripper under a Wrap (rt itself when it is not one),
// so a caller can inspect the *http.Transport's settings.
func Base(rt http.RoundTripper) http.RoundTripper {
	if b, ok := rt.(*bounded); ok && b.rt != nil {
		return b.rt
	}
	return rt
}

type bounded struct {
	next func(*http.Request) (*http.Response, error)
	l    Limits
	rt   http.RoundTripper // set by Wrap, for Base
}

// RoundTrip implements http.RoundTripper.
func (b *bounded) RoundTrip(req *http.Request) (*http.Response, error) { return b.Do(req) }

// Do implements Doer.
func (b *bounded) Do(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, b.l.AttemptTimeout)
	resp, err := b.next(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, b.callError(parent, ctx, err)
	}
	if b.l.RefuseRedirects && resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		_ = resp.Body.Close()
		cancel()
		return nil, &RedirectError{Endpoint: b.l.Endpoint, Status: resp.StatusCode}
	}
	bb := &body{rc: resp.Body, left: b.l.MaxBody, l: b.l, parent: parent, ctx: ctx, cancel: cancel}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); {
	case resp.Uncompressed, enc == "", enc == "identity":
		resp.Body = bb
	case enc == "gzip":
		// The caller asked for gzip itself, so net/http left it encoded:
		// decode here so the cap counts what the caller reads, and drop the
		// header as net/http does when it decodes.
		raw := &body{rc: resp.Body, left: b.l.MaxBody, l: b.l, parent: parent, ctx: ctx, cancel: cancel}
		bb.rc = &lazyGzip{raw: raw}
		resp.Body = bb
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	default:
		_ = resp.Body.Close()
		cancel()
		return nil, &EncodingError{Endpoint: b.l.Endpoint}
	}
	if resp.ContentLength > b.l.MaxBody {
		_ = resp.Body.Close()
		return nil, &BodyLimitError{Endpoint: b.l.Endpoint, Limit: b.l.MaxBody}
	}
	return resp, nil
}

// callError names an attempt that ran out of its own time; the end of the
// caller's context is left as it is, for the caller to name.
func (b *bounded) callError(parent, ctx context.Context, err error) error {
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &AttemptTimeoutError{Endpoint: b.l.Endpoint, Limit: b.l.AttemptTimeout}
	}
	return err
}

// body counts what the caller reads and ends the attempt's context on Close.
type body struct {
	rc          io.ReadCloser
	left        int64
	l           Limits
	parent, ctx context.Context
	cancel      context.CancelFunc
	err         error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		b.err = &BodyLimitError{Endpoint: b.l.Endpoint, Limit: b.l.MaxBody}
		n = int(b.left)
		b.left = 0
		b.cancel() // stop the server's transfer now, not at Close
		return n, b.err
	}
	b.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = b.readError(err)
		return n, b.err
	}
	return n, err
}

func (b *body) readError(err error) error {
	var typed interface{ RetryableError() bool }
	switch {
	case errors.As(err, &typed):
		return err // already one of ours (the gzip layer's raw body)
	case b.parent.Err() != nil:
		return b.parent.Err()
	case errors.Is(b.ctx.Err(), context.DeadlineExceeded):
		return &AttemptTimeoutError{Endpoint: b.l.Endpoint, Limit: b.l.AttemptTimeout}
	}
	var gz bool
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) {
		gz = true
	}
	return &BodyReadError{Endpoint: b.l.Endpoint, BadEncoding: gz, err: err}
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// lazyGzip opens the gzip stream on first read, so a slow header is read
// under the caller's own deadline rather than in RoundTrip.
type lazyGzip struct {
	raw io.ReadCloser
	zr  *gzip.Reader
}

func (g *lazyGzip) Read(p []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.raw)
		if err != nil {
			return 0, err
		}
		g.zr = zr
	}
	return g.zr.Read(p)
}

func (g *lazyGzip) Close() error { return g.raw.Close() }

// Sleep waits d, or returns ctx's error if ctx ends first: the wait between
// the retries of every client here (time.Sleep cannot be cancelled).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
