package githubfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Operation names the audit adds.
const (
	OpListEnvironments = "repos.list_environments"
)

// Limits make the fake enforce GitHub's rate limits per token: a primary
// budget of PerHour requests in a window that starts with the token's first
// request (403 with X-RateLimit-Remaining: 0 and the reset once spent), and
// a secondary limit on requests in flight at once (403 with Retry-After).
// Now is the fake's clock (nil: time.Now), so a test can run an hour of
// budget without waiting one.
type Limits struct {
	PerHour       int // 0: 5,000 and not enforced
	MaxConcurrent int // 0: not enforced
	RetryAfter    time.Duration
	Now           func() time.Time
}

// Counters are what the limits saw, for tests to assert on.
type Counters struct {
	Served         map[string]int // token label -> requests answered within budget
	OverBudget     int            // requests refused by the primary limit
	Secondary      int            // requests refused by the secondary limit
	MaxInFlight    int            // the most requests in flight at once
	NotModified    int            // conditional requests answered 304 (not counted in Served)
	WindowsStarted int
}

type window struct {
	start time.Time
	used  int
}

type limiter struct {
	mu       sync.Mutex
	lim      Limits
	windows  map[string]*window
	inFlight int
	c        Counters
}

// SetLimits turns rate limiting on (or changes it) and resets the counters.
func (s *Server) SetLimits(l Limits) {
	s.lim.mu.Lock()
	defer s.lim.mu.Unlock()
	s.lim.lim = l
	s.lim.windows = map[string]*window{}
	s.lim.c = Counters{Served: map[string]int{}}
}

// Counters returns a copy of the rate-limit counters.
func (s *Server) Counters() Counters {
	s.lim.mu.Lock()
	defer s.lim.mu.Unlock()
	c := s.lim.c
	c.Served = map[string]int{}
	for k, v := range s.lim.c.Served {
		c.Served[k] = v
	}
	return c
}

// AddToken accepts another token. canListSecrets false makes it a
// GITHUB_TOKEN-like token: the secret lists answer 403.
func (s *Server) AddToken(token string, canListSecrets bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]bool{}
	}
	s.tokens[token] = canListSecrets
}

func (l *limiter) now() time.Time {
	if l.lim.Now != nil {
		return l.lim.Now()
	}
	return time.Now()
}

// admit applies the limits to one request of token; it writes the refusal
// and returns false, or returns a done func to call when answered.
func (s *Server) admit(w http.ResponseWriter, token string) (func(), bool) {
	l := &s.lim
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.PerHour == 0 && l.lim.MaxConcurrent == 0 {
		s.rateHeaders(w, 4999)
		return func() {}, true
	}
	now := l.now()
	win := l.windows[token]
	if win == nil || !now.Before(win.start.Add(time.Hour)) {
		win = &window{start: now}
		l.windows[token] = win
		l.c.WindowsStarted++
	}
	limit := l.lim.PerHour
	if limit == 0 {
		limit = 5000
	}
	reset := win.start.Add(time.Hour)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if l.lim.PerHour > 0 && win.used >= limit {
		l.c.OverBudget++
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(win.used))
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "API rate limit exceeded for installation ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"})
		return nil, false
	}
	if l.lim.MaxConcurrent > 0 && l.inFlight >= l.lim.MaxConcurrent {
		l.c.Secondary++
		h.Set("Retry-After", strconv.Itoa(max(1, int(l.lim.RetryAfter.Seconds()))))
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
		return nil, false
	}
	win.used++
	l.c.Served[tokenLabel(token)]++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(limit-win.used))
	h.Set("X-RateLimit-Used", strconv.Itoa(win.used))
	l.inFlight++
	l.c.MaxInFlight = max(l.c.MaxInFlight, l.inFlight)
	return func() {
		l.mu.Lock()
		l.inFlight--
		l.mu.Unlock()
	}, true
}

// tokenLabel names a token in counters without holding it.
func tokenLabel(tok string) string { return "token-" + strconv.Itoa(len(tok)) + "-" + sha(tok)[:8] }

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, repo *Repo) {
	names := make([]string, 0, len(repo.Envs))
	for n := range repo.Envs {
		names = append(names, n)
	}
	sort.Strings(names)
	listPage(s, w, r, names, "environments", func(n string) any {
		return map[string]any{"id": len(n), "name": n, "url": "https://api.github.com/repos/" + repo.Owner + "/" + repo.Name + "/environments/" + n}
	})
}

// listDir answers a directory's contents: the files directly under dir.
func (s *Server) listDir(w http.ResponseWriter, files map[string][]byte, dir string) bool {
	var out []any
	var names []string
	for p := range files {
		if strings.HasPrefix(p, dir+"/") && !strings.Contains(p[len(dir)+1:], "/") {
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		return false
	}
	sort.Strings(names)
	for _, p := range names {
		out = append(out, map[string]any{"type": "file", "name": p[len(dir)+1:], "path": p, "size": len(files[p]), "sha": blobSHA(files[p])})
	}
	writeJSON(w, http.StatusOK, out)
	return true
}

// RepoState returns owner/name for a test to read or change under Lock.
func (s *Server) RepoState(owner, name string) *Repo { return s.repos[owner+"/"+name] }

// condWriter buffers a GET's answer so that it can carry GitHub's ETag and
// become 304 Not Modified when the client's If-None-Match names it.
type condWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (c *condWriter) WriteHeader(status int) { c.status = status }

func (c *condWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(b)
}

// finish writes the buffered answer; a 304 is refunded to the primary
// budget, as GitHub does not count it.
func (c *condWriter) finish(r *http.Request, refund func() int) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status == http.StatusOK {
		sum := sha256.Sum256(c.buf.Bytes())
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		c.Header().Set("ETag", etag)
		// "*" matches any current answer (RFC 9110 13.1.2).
		if inm := r.Header.Get("If-None-Match"); inm == etag || inm == "*" {
			if rem := refund(); rem >= 0 {
				c.Header().Set("X-RateLimit-Remaining", strconv.Itoa(rem))
			}
			c.Header().Del("Content-Length")
			c.ResponseWriter.WriteHeader(http.StatusNotModified)
			return
		}
	}
	c.ResponseWriter.WriteHeader(c.status)
	_, _ = c.ResponseWriter.Write(c.buf.Bytes())
}

// refund gives a request back to token's window (a 304) and returns the
// remaining budget, or -1 when limits are off.
func (s *Server) refund(token string) int {
	l := &s.lim
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c.NotModified++
	win := l.windows[token]
	if win == nil || l.lim.PerHour == 0 {
		return -1
	}
	win.used--
	l.c.Served[tokenLabel(token)]--
	return l.lim.PerHour - win.used
}
