package vendorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/transport"
)

// Defaults for Options' zero fields.
const (
	DefaultMaxBody    = 1 << 20
	DefaultMaxRetries = 3
	DefaultMaxWait    = 30 * time.Second
	DefaultPageSize   = 100
	defaultTimeout    = 30 * time.Second
	backoffBase       = 250 * time.Millisecond
)

// Options configure every vendor client. The zero value is usable.
type Options struct {
	// HTTPClient sends the requests; nil means keylease's bounded transport
	// (body cap MaxBody, 30 s per attempt including the body).
	HTTPClient *http.Client
	// Getenv reads the base-URL variables; nil reads none (defaults apply).
	Getenv func(string) string
	// MaxBody caps every response body read, in bytes.
	MaxBody int64
	// MaxRetries bounds the retries of a throttled or failed call (0: the
	// default, negative: none).
	MaxRetries int
	// MaxWait caps a single wait between retries, whatever Retry-After says.
	MaxWait time.Duration
	// PageSize is the page size asked of list calls.
	PageSize int
	// Sleep waits between retries; nil waits on a timer. Tests record here.
	Sleep func(ctx context.Context, d time.Duration) error
}

type client struct {
	vendor     string
	hc         *http.Client
	maxBody    int64
	maxRetries int
	maxWait    time.Duration
	pageSize   int
	sleep      func(context.Context, time.Duration) error
	decodeErr  func([]byte) (typ, code string)
}

func newClient(vendor string, o Options, decodeErr func([]byte) (string, string)) client {
	c := client{
		vendor: vendor, hc: o.HTTPClient, maxBody: o.MaxBody, maxRetries: o.MaxRetries,
		maxWait: o.MaxWait, pageSize: o.PageSize, sleep: o.Sleep, decodeErr: decodeErr,
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.hc == nil {
		// The bounded transport every keylease client uses: decoded-body
		// cap (decompression counted), per-attempt timeout including the
		// body, proxies from the environment.
		// No redirects: Go forwards custom headers (x-api-key) and, on 307/308,
		// the body (federation's OIDC token) to wherever one points.
		c.hc = transport.New(transport.Limits{Endpoint: vendor, MaxBody: c.maxBody, AttemptTimeout: defaultTimeout, RefuseRedirects: true})
	}
	if c.maxRetries < 0 {
		c.maxRetries = 0
	} else if o.MaxRetries == 0 {
		c.maxRetries = DefaultMaxRetries
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.pageSize <= 0 {
		c.pageSize = DefaultPageSize
	}
	if c.sleep == nil {
		c.sleep = transport.Sleep
	}
	return c
}

// baseURL reads env through getenv, falling back to def, without a trailing slash.
func baseURL(getenv func(string) string, env, def string) (string, error) {
	u := def
	if getenv != nil {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			u = v
		}
	}
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return "", fmt.Errorf("%s must be an http(s) URL; set it to the API's base URL or unset it for the default", env)
	}
	// Admin keys, minted keys and OIDC tokens go to these URLs: plain http
	// only to this machine (the emulators, a local proxy).
	if p, err := url.Parse(u); err != nil || p.Scheme == "http" && !isLoopback(p.Hostname()) {
		return "", fmt.Errorf("%s is plain http to another host (or not a URL), so keys and tokens would cross the network unencrypted; use https:// (plain http is accepted only for 127.0.0.1, ::1 and localhost)", env)
	}
	return strings.TrimRight(u, "/"), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// call is one API request.
type call struct {
	op         string // what the caller was doing, for errors ("list service accounts")
	method     string
	url        string
	body       any // JSON-encoded when non-nil
	auth       func(h http.Header)
	idempotent bool
}

// do sends c, retrying as the package doc says, and decodes a 2xx body into
// out (nil: discard). A non-2xx answer is an *Error.
func (cl *client) do(ctx context.Context, c call, out any) error {
	var payload []byte
	if c.body != nil {
		var err error
		if payload, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", cl.vendor, c.op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		status, hdr, body, err := cl.roundTrip(ctx, c, payload)
		if err != nil {
			if ctx.Err() != nil || !c.idempotent || attempt >= cl.maxRetries || errors.Is(err, ErrBodyTooLarge) {
				return fmt.Errorf("%s %s: %w", cl.vendor, c.op, err)
			}
			if serr := cl.sleep(ctx, cl.backoff(attempt, "")); serr != nil {
				return fmt.Errorf("%s %s: %w", cl.vendor, c.op, serr)
			}
			continue
		}
		if status >= 200 && status < 300 {
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			err := json.Unmarshal(body, out)
			clear(body) // it may hold a minted key; out has its own copy
			if err != nil {
				// json's messages quote no input beyond a type name and offset.
				return fmt.Errorf("%s %s: decode response: %w", cl.vendor, c.op, err)
			}
			return nil
		}
		typ, code := cl.decodeErr(body)
		apiErr := &Error{Vendor: cl.vendor, Op: c.op, Status: status, Type: typ, Code: code}
		if !cl.retryable(status, c.idempotent) || attempt >= cl.maxRetries {
			return apiErr
		}
		wait := cl.backoff(attempt, hdr.Get("Retry-After"))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (retry after %s is past the deadline)", apiErr, wait)
		}
		if serr := cl.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w: %w", apiErr, serr)
		}
	}
}

// retryable: 429 and 503 mean "not processed, come back"; other 5xx may have
// been processed, so only an idempotent call repeats them.
func (cl *client) retryable(status int, idempotent bool) bool {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return true
	case status >= 500:
		return idempotent
	}
	return false
}

// backoff is Retry-After (seconds or an HTTP date) when sent, else an
// exponential step; both capped by maxWait.
func (cl *client) backoff(attempt int, retryAfter string) time.Duration {
	d := backoffBase << min(attempt, 6)
	if retryAfter != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
			d = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(retryAfter); err == nil {
			d = max(time.Until(t), 0)
		}
	}
	return min(d, cl.maxWait)
}

func (cl *client) roundTrip(ctx context.Context, c call, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != nil {
		c.auth(req.Header)
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		return 0, nil, nil, withoutQuery(capError(err, cl.maxBody))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := readCapped(resp.Body, cl.maxBody)
	if err != nil {
		return 0, nil, nil, capError(err, cl.maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// ErrBodyTooLarge is returned when a response is longer than Options.MaxBody.
var ErrBodyTooLarge = errors.New("response body is over the size cap (Options.MaxBody)")

// withoutQuery drops the query from a transport error's URL: its cursors
// are chosen by the server, and nothing from a server reaches an error.
func withoutQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.Fragment = "", ""
			ue.URL = u.String()
		}
	}
	return err
}

// capError makes the bounded transport's body cap, which is MaxBody too,
// read as ErrBodyTooLarge.
func capError(err error, limit int64) error {
	var le *transport.BodyLimitError
	if errors.As(err, &le) {
		return fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return err
}

func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return b, nil
}

func bearer(v secret.Value) func(http.Header) {
	return func(h http.Header) {
		b := make([]byte, 0, len("Bearer ")+v.Len())
		b = append(append(b, "Bearer "...), v.Bytes()...)
		h.Set("Authorization", string(b))
	}
}

// MaxPages bounds one listing: a vendor that keeps answering with new
// cursors (or cycles through old ones) cannot make a list call run forever
// or grow without bound. 1,000 pages of 100 are far beyond any real project.
const MaxPages = 1000

// ErrPagination is returned when a listing repeats a cursor or passes
// MaxPages.
var ErrPagination = errors.New("the vendor's pagination does not end (a cursor repeats, or more than MaxPages pages)")

// cursors remembers a listing's cursors so that a cycle or an endless
// listing is an error, not a loop.
type cursors struct {
	seen  map[string]bool
	pages int
}

// next accepts cursor c for the following page.
func (cs *cursors) next(vendor, op, c string) error {
	if cs.seen == nil {
		cs.seen = map[string]bool{}
	}
	cs.pages++
	if cs.seen[c] || cs.pages >= MaxPages {
		return fmt.Errorf("%s %s: %w", vendor, op, ErrPagination)
	}
	cs.seen[c] = true
	return nil
}
