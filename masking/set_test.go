package masking

import (
	"fmt"
	"sync"
	"testing"

	"github.com/keylease/keylease/secret"
)

// TestSetBuildsMatcherOnUse: Add leaves the matcher to be built on first use,
// and every use after an Add sees every value added before it.
func TestSetBuildsMatcherOnUse(t *testing.T) {
	t.Parallel()
	s := NewSet(Options{})
	var vals []string
	for i := range 3 {
		v := "sk-proj-" + fakeKey(uint64(500+i), 60, keyAlpha) // #nosec G115 -- small i
		vals = append(vals, v)
		if err := s.Add(secret.FromString(v)); err != nil {
			t.Fatal(err)
		}
		if s.m.Load() != nil {
			t.Fatal("Add built the matcher; it must be built on first use")
		}
		for _, w := range vals {
			if got := s.Sanitize("x " + w + " y"); got != "x *** y" {
				t.Fatalf("after %d Add(s), value %d: sanitized to %d bytes, want it masked", i+1, len(vals), len(got))
			}
		}
		m := s.m.Load()
		if m == nil || s.matcher() != m {
			t.Fatal("the built matcher is not reused while nothing is added")
		}
	}
}

// TestSetConcurrentAddAndUse runs Add, Sanitize, redactors and Stats from
// several goroutines (go test -race checks the locking); afterwards every
// value is masked everywhere.
func TestSetConcurrentAddAndUse(t *testing.T) {
	t.Parallel()
	s := NewSet(Options{})
	const n = 40
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("xai-%02d-%s", i, fakeKey(uint64(600+i), 50, alnumChars)) // #nosec G115 -- small i
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				if err := s.Add(secret.FromString(vals[i])); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			r := s.NewRedactor(discard{})
			for i := range n {
				_ = s.Sanitize("noise " + vals[i])
				_, _ = r.Write([]byte(vals[(i+g)%n] + "\n"))
				s.Stats()
			}
			_ = r.Close()
		}()
	}
	wg.Wait()
	if v, _ := s.Stats(); v != n {
		t.Fatalf("Stats: %d values, want %d", v, n)
	}
	for i, v := range vals {
		if got := s.Sanitize(v); got != "***" {
			t.Fatalf("value %d not masked after concurrent adds (%d bytes out)", i, len(got))
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
