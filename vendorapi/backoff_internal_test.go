package vendorapi

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := newClient("x", Options{MaxWait: 10 * time.Second}, nil)
	date := time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		attempt int
		ra      string
		lo, hi  time.Duration
	}{
		{0, "", backoffBase, backoffBase},
		{2, "", 4 * backoffBase, 4 * backoffBase},
		{30, "", 10 * time.Second, 10 * time.Second}, // capped
		{0, "3", 3 * time.Second, 3 * time.Second},
		{0, "0", 0, 0},
		{0, "999", 10 * time.Second, 10 * time.Second},
		{0, date, 3 * time.Second, 5 * time.Second},
		{1, "soon", 2 * backoffBase, 2 * backoffBase}, // unparseable: backoff
		{0, "-4", backoffBase, backoffBase},
	} {
		if d := c.backoff(tc.attempt, tc.ra); d < tc.lo || d > tc.hi {
			t.Errorf("backoff(%d, %q) = %s, want in [%s, %s]", tc.attempt, tc.ra, d, tc.lo, tc.hi)
		}
	}
	if n := newClient("x", Options{MaxRetries: -1}, nil).maxRetries; n != 0 {
		t.Errorf("MaxRetries -1 gave %d retries", n)
	}
}
