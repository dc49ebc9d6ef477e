package exchange

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/keylease/keylease/transport"
)

// backoffPolicy is the jittered exponential backoff of every retry in the
// package: retryLoop's and, through sdkBackoff, the SDK retryer's. Tests
// shrink it (export_test.go).
type backoffPolicy struct {
	attempts  int           // total tries, including the first
	base, max time.Duration // first delay cap; largest delay
}

var backoff = backoffPolicy{attempts: 5, base: 250 * time.Millisecond, max: 8 * time.Second}

// delay is "full jitter": uniform in [0, min(max, base·2^(attempt-1))], so
// parallel jobs throttled together do not come back together.
func (b backoffPolicy) delay(attempt int) time.Duration {
	d := b.base << min(max(attempt-1, 0), 16) // attempt 0 counts as the first
	if d > b.max || d <= 0 {
		d = b.max
	}
	return time.Duration(rand.Int64N(int64(d) + 1)) //nolint:gosec // jitter needs spread, not unpredictability
}

// wait sleeps the delay before attempt+1, or returns ctx's error.
func (b backoffPolicy) wait(ctx context.Context, attempt int) error {
	return transport.Sleep(ctx, b.delay(attempt))
}

// retryLoop is the package's one retry loop (the calls the SDK's retryer
// cannot make: the OIDC requests, and STS with a fresh token per attempt).
// It runs try until it succeeds, fails for good (not Retryable) or has had
// backoff.attempts tries; the end of ctx ends it with stage's error.
func retryLoop(ctx context.Context, stage, op string, try func() *Error) *Error {
	var last *Error
	for attempt := 1; attempt <= backoff.attempts; attempt++ {
		if attempt > 1 {
			if err := backoff.wait(ctx, attempt-1); err != nil {
				return ctxError(ctx, stage, op, "")
			}
		}
		last = try()
		if last == nil || !last.Retryable {
			return last
		}
		if ctx.Err() != nil {
			return ctxError(ctx, stage, op, "")
		}
	}
	last.Message += " (after " + strconv.Itoa(backoff.attempts) + " attempts)"
	return last
}

// sdkBackoff adapts the policy to the SDK's retry.BackoffDelayer.
type sdkBackoff struct{}

func (sdkBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return backoff.delay(attempt), nil
}
