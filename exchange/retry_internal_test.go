package exchange

import (
	"testing"
	"time"
)

// TestBackoffDelayBounds: the retry delay is full jitter, uniform in
// [0, min(max, base·2^(attempt-1))]: never negative, never above the cap of
// its attempt nor the policy's max, and spread over the whole range (not
// stuck at 0 or at the bound).
func TestBackoffDelayBounds(t *testing.T) {
	t.Parallel()
	const samples = 2000
	prod := backoffPolicy{attempts: 5, base: 250 * time.Millisecond, max: 8 * time.Second}
	tests := []struct {
		name    string
		policy  backoffPolicy
		attempt int
		bound   time.Duration
	}{
		{"production first retry", prod, 1, 250 * time.Millisecond},
		{"attempt zero is the first", prod, 0, 250 * time.Millisecond},
		{"production doubles", prod, 3, time.Second},
		{"production last retry", prod, 4, 2 * time.Second},
		{"production capped by max", prod, 7, 8 * time.Second},
		{"exponent capped at 16", backoffPolicy{attempts: 5, base: time.Nanosecond, max: time.Hour}, 100, time.Nanosecond << 16},
		{"shift overflow falls back to max", backoffPolicy{attempts: 5, base: 1 << 62, max: time.Minute}, 3, time.Minute},
		{"max below base", backoffPolicy{attempts: 5, base: time.Second, max: 100 * time.Millisecond}, 1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lo, hi := tt.bound, time.Duration(0)
			for range samples {
				d := tt.policy.delay(tt.attempt)
				if d < 0 || d > tt.bound {
					t.Fatalf("delay(%d) = %v, outside [0, %v]", tt.attempt, d, tt.bound)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			// Uniform over the range: 2000 draws all outside one quarter
			// has probability (3/4)^2000, i.e. never.
			if lo > tt.bound/4 || hi < tt.bound*3/4 {
				t.Errorf("delays span [%v, %v] of [0, %v]: not full jitter", lo, hi, tt.bound)
			}
		})
	}
}

// TestBackoffSDKAdapter: the SDK's retryer gets the package's policy (the
// one export_test.go shrank), within each attempt's bound.
func TestBackoffSDKAdapter(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= backoff.attempts+3; attempt++ {
		bound := min(backoff.max, backoff.base<<(attempt-1))
		for range 200 {
			d, err := sdkBackoff{}.BackoffDelay(attempt, nil)
			if err != nil || d < 0 || d > bound {
				t.Fatalf("BackoffDelay(%d) = %v, %v; want within [0, %v]", attempt, d, err, bound)
			}
		}
	}
}
