package githubapi

import (
	"github.com/keylease/keylease/transport"

	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// Defaults for Options' zero fields.
const (
	DefaultAPIURL      = "https://api.github.com"
	DefaultMaxRetries  = 3
	DefaultMaxWait     = 2 * time.Minute
	DefaultMaxDownload = 64 << 20
	perPage            = 100
)

// Options configure a Client. The zero value is usable but has no token.
type Options struct {
	HTTPClient  *http.Client        // nil: keylease's bounded transport (16 MiB API answers, MaxDownload for downloads)
	Getenv      func(string) string // reads GITHUB_API_URL and GITHUB_TOKEN
	MaxRetries  int                 // rate-limit retries per call
	MaxWait     time.Duration       // cap on one rate-limit wait
	MaxDownload int64               // cap on a log or artifact download
	PerPage     int                 // list page size (≤ 100)
	// Sleep waits between retries; nil waits on a timer. Tests record here.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for primary-rate-limit resets; nil is time.Now.
	Now func() time.Time
}

// Client wraps a go-github client with keylease's retry and download rules.
type Client struct {
	GH          *github.Client
	dl          *http.Client // downloads: no Authorization, ever
	maxRetries  int
	maxWait     time.Duration
	maxDownload int64
	perPage     int
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
}

// New builds a Client from GITHUB_API_URL (default https://api.github.com)
// and GITHUB_TOKEN.
func New(o Options) (*Client, error) {
	get := o.Getenv
	if get == nil {
		get = func(string) string { return "" }
	}
	api := strings.TrimSpace(get("GITHUB_API_URL"))
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimRight(api, "/") + "/")
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("GITHUB_API_URL must be an http(s) URL such as https://api.github.com or https://HOST/api/v3")
	}
	hc := o.HTTPClient
	bounded := hc == nil
	if bounded {
		// API answers are JSON pages: a few MiB at most. Downloads get
		// their own cap (MaxDownload) on the download client below.
		hc = transport.New(transport.Limits{Endpoint: "github", MaxBody: 16 << 20, AttemptTimeout: 60 * time.Second})
	}
	gh := github.NewClient(hc)
	if tok := get("GITHUB_TOKEN"); tok != "" {
		gh = gh.WithAuthToken(tok)
	}
	gh.BaseURL = u
	c := &Client{GH: gh, maxRetries: o.MaxRetries, maxWait: o.MaxWait, maxDownload: o.MaxDownload, perPage: o.PerPage, sleep: o.Sleep, now: o.Now}
	// The download client shares the caller's transport but not go-github's
	// token-adding wrapper, and drops Authorization on any further redirect.
	c.dl = &http.Client{Transport: hc.Transport, Timeout: hc.Timeout, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		r.Header.Del("Authorization")
		if len(via) >= 5 {
			return errors.New("download: too many redirects")
		}
		return nil
	}}
	if c.maxRetries == 0 {
		c.maxRetries = DefaultMaxRetries
	} else if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.maxDownload <= 0 {
		c.maxDownload = DefaultMaxDownload
	}
	if bounded {
		c.dl.Transport = transport.Wrap(transport.NewTransport(), transport.Limits{Endpoint: "github-download", MaxBody: c.maxDownload, AttemptTimeout: 5 * time.Minute})
	}
	if c.perPage <= 0 || c.perPage > perPage {
		c.perPage = perPage
	}
	if c.sleep == nil {
		c.sleep = transport.Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// retry runs f, waiting out GitHub's rate limits as the package doc says.
func retry[T any](ctx context.Context, c *Client, op string, f func() (T, *github.Response, error)) (T, *github.Response, error) {
	for attempt := 0; ; attempt++ {
		v, resp, err := f()
		if err == nil {
			return v, resp, nil
		}
		wait, limited := c.rateWait(err)
		if !limited || attempt >= c.maxRetries {
			return v, resp, wrap(op, err)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return v, resp, fmt.Errorf("%w (rate limit resets after the deadline)", wrap(op, err))
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return v, resp, fmt.Errorf("%w: %w", wrap(op, err), serr)
		}
	}
}

func (c *Client) rateWait(err error) (time.Duration, bool) {
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	switch {
	case errors.As(err, &rl):
		return min(max(rl.Rate.Reset.Sub(c.now())+time.Second, 0), c.maxWait), true
	case errors.As(err, &ab):
		d := time.Minute // GitHub's advice when no Retry-After is sent
		if ab.RetryAfter != nil {
			d = *ab.RetryAfter
		}
		return min(d, c.maxWait), true
	}
	return 0, false
}

// wrap names the call and the status; go-github's own error text holds the
// method, URL (no token) and GitHub's message.
func wrap(op string, err error) error {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return fmt.Errorf("github %s: http %d: %w", op, er.Response.StatusCode, err)
	}
	return fmt.Errorf("github %s: %w", op, err)
}

// listAll pages through a go-github list call.
func listAll[T any](ctx context.Context, c *Client, op string, f func(opt github.ListOptions) ([]T, *github.Response, error)) ([]T, error) {
	var all []T
	opt := github.ListOptions{PerPage: c.perPage}
	for pages := 1; ; pages++ {
		items, resp, err := retry(ctx, c, op, func() ([]T, *github.Response, error) { return f(opt) })
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if resp == nil || resp.NextPage == 0 {
			return all, nil
		}
		// GitHub's Link pages count up; a next page that does not, or a
		// listing past MaxPages, is a server that would keep us forever.
		if resp.NextPage <= max(opt.Page, 1) || pages >= MaxPages {
			return nil, fmt.Errorf("github %s: %w", op, ErrPagination)
		}
		opt.Page = resp.NextPage
	}
}

// MaxPages bounds one listing (1,000 pages of up to 100 items).
const MaxPages = 1000

// ErrPagination is returned when a listing's next page does not advance or
// it passes MaxPages.
var ErrPagination = errors.New("GitHub's pagination does not end (the next page does not advance, or more than MaxPages pages)")
