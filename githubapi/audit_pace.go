package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Pace is a RoundTripper that keeps an audit inside GitHub's limits before
// GitHub has to refuse it: at most Concurrency requests in flight, no
// request while the primary budget (X-RateLimit-Remaining, counted down
// locally as requests leave) is at Reserve until X-RateLimit-Reset, and a
// GET answered with a secondary limit (Retry-After) or a primary one is
// sent again after the wait. Waits go through Sleep and Now so tests can
// run an hour of budget in milliseconds; a wait that would end after
// Deadline fails the request with ErrBudget instead.
//
// go-github keeps its own view of the limits on the wall clock; pacing here
// means it never sees a refusal for a GET, so that view stays clear.
type Pace struct {
	Next        http.RoundTripper
	Concurrency int // default 4 (GitHub allows 100; an audit gains nothing from more)
	Reserve     int // requests left unused in each window; default 1
	Now         func() time.Time
	Sleep       func(ctx context.Context, d time.Duration) error
	Deadline    time.Time // zero: none
	MaxRetries  int       // resends of one GET after a limit; default 8
	// ETags, if set, makes GETs conditional (304s are free on GitHub's
	// primary limit and do not count down the budget here).
	ETags *ETags

	once      sync.Once
	slots     chan struct{}
	mu        sync.Mutex
	remaining int // -1: not known yet
	reset     time.Time
	waited    time.Duration
}

// ErrLimited is returned when GitHub still refuses a GET for a rate limit
// after MaxRetries waits.
var ErrLimited = errors.New("GitHub kept refusing the request for a rate limit")

// ErrBudget is returned when honouring a rate limit would run past the
// audit's deadline: the subject is reported unreached.
var ErrBudget = errors.New("GitHub's rate limit would keep this request waiting past the audit's deadline")

func (p *Pace) init() {
	p.once.Do(func() {
		if p.Concurrency <= 0 {
			p.Concurrency = 4
		}
		if p.Reserve <= 0 {
			p.Reserve = 1
		}
		if p.MaxRetries <= 0 {
			p.MaxRetries = 8
		}
		if p.Now == nil {
			p.Now = time.Now
		}
		if p.Next == nil {
			p.Next = http.DefaultTransport
		}
		p.slots = make(chan struct{}, p.Concurrency)
		p.remaining = -1
	})
}

// Waited is the total time the pacer waited for limits.
func (p *Pace) Waited() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waited
}

func (p *Pace) sleep(ctx context.Context, d time.Duration) error {
	if !p.Deadline.IsZero() && p.Now().Add(d).After(p.Deadline) {
		return ErrBudget
	}
	p.mu.Lock()
	p.waited += d
	p.mu.Unlock()
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// take reserves one request of the primary budget, waiting for the reset
// when it is spent.
func (p *Pace) take(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.Now()
		if p.remaining >= 0 && !p.reset.IsZero() && !now.Before(p.reset) {
			p.remaining = -1 // a new window: GitHub tells us its size on the next answer
		}
		if p.remaining < 0 || p.remaining > p.Reserve {
			if p.remaining > 0 {
				p.remaining--
			}
			p.mu.Unlock()
			return nil
		}
		wait := p.reset.Sub(now) + time.Second
		p.mu.Unlock()
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// refund gives back the request take counted: GitHub does not count a 304.
func (p *Pace) refund() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.remaining >= 0 {
		p.remaining++
	}
}

// observe takes the budget GitHub reports; the lower count wins within a
// window, since answers to concurrent requests arrive out of order.
func (p *Pace) observe(h http.Header) {
	rem, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	rs, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	reset := time.Unix(rs, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.remaining < 0 || reset.After(p.reset):
		p.remaining, p.reset = rem, reset
	case rem < p.remaining:
		p.remaining = rem
	}
}

// RoundTrip implements http.RoundTripper.
func (p *Pace) RoundTrip(r *http.Request) (*http.Response, error) {
	p.init()
	ctx := r.Context()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()
	for attempt := 0; ; attempt++ {
		if err := p.take(ctx); err != nil {
			return nil, err
		}
		req, was := p.ETags.conditional(r)
		resp, err := p.Next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusNotModified {
			p.refund()
		}
		p.observe(resp.Header)
		wait, limited := p.limitWait(resp)
		if !limited || r.Method != http.MethodGet {
			return p.ETags.answer(r, resp, was)
		}
		_ = resp.Body.Close()
		if attempt >= p.MaxRetries {
			// Not handed to go-github: it would block every later request
			// on the wall clock, ignoring Sleep and Now.
			return nil, fmt.Errorf("%w (%d attempts, %s)", ErrLimited, attempt+1, r.URL.Path)
		}
		if err := p.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, r.URL.Path)
		}
	}
}

// limitWait reads a refusal for a rate limit: 403 or 429 with Retry-After
// (secondary), or with X-RateLimit-Remaining: 0 (primary, until the reset).
func (p *Pace) limitWait(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if rs, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(rs, 0).Sub(p.Now()), 0) + time.Second, true
		}
	}
	return 0, false
}
