package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
)

// ETags remembers GitHub's answers to GETs by URL with their ETag, so a
// request can be conditional (If-None-Match): GitHub answers 304 Not
// Modified, which does not count against the primary rate limit, and the
// remembered answer is used. Save and Load carry it between runs (a daily
// audit sees mostly unchanged repositories). It holds what the GETs
// returned: names, workflow files, run lists; never a downloaded log or
// artifact, which come through a redirect. One ETags serves one token.
type ETags struct {
	mu   sync.Mutex
	m    map[string]etagEntry
	used map[string]bool // asked for this run: what Save keeps
}

type etagEntry struct {
	ETag        string `json:"etag"`
	ContentType string `json:"content_type,omitempty"`
	Link        string `json:"link,omitempty"`
	// Body is the answer as GitHub sent it, JSON in JSON: the scan run
	// before the file is written reads it as text ([]byte was base64,
	// which hid a key in an answer from every detector).
	Body json.RawMessage `json:"body"`
}

// maxETagBody bounds what one remembered answer may hold.
const maxETagBody = 1 << 20

// NewETags returns an empty cache.
func NewETags() *ETags { return &ETags{m: map[string]etagEntry{}, used: map[string]bool{}} }

// Load reads a cache Save wrote. An entry Save could not have written (an
// ETag that is not one entity tag, a body over the bound, a header value
// with a control character) is dropped, so its URL is asked for afresh:
// "*" would make GitHub answer 304 for any content (If-None-Match: *
// matches every current answer) and the remembered body be used unchecked.
// A cache of null is an empty one.
func (e *ETags) Load(r io.Reader) error {
	var m map[string]etagEntry
	if err := json.NewDecoder(io.LimitReader(r, 256<<20)).Decode(&m); err != nil {
		return fmt.Errorf("the ETag cache is not one keylease wrote: %w", err)
	}
	keep := make(map[string]etagEntry, len(m))
	for u, v := range m {
		if !entityTag.MatchString(v.ETag) || len(v.Body) > maxETagBody || !jsonDocument(v.Body) || !headerValue.MatchString(v.ContentType) || !headerValue.MatchString(v.Link) {
			continue
		}
		keep[u] = v
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m = keep
	return nil
}

// jsonDocument reports whether b is a JSON object or array, as every API
// answer kept is. A body of an older cache (a base64 string) is not, and
// its URL is asked for afresh.
func jsonDocument(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(b)
}

// entityTag is one HTTP entity tag (RFC 9110 8.8.3), weak or strong.
var entityTag = regexp.MustCompile(`^(W/)?"[\x21\x23-\x7e]*"$`)

// headerValue is a header value of printable ASCII, or none.
var headerValue = regexp.MustCompile(`^[\x20-\x7e]*$`)

// Save writes the cache as JSON: the answers to URLs asked for since Load,
// not every answer ever kept. The runs list's URL names the day (created>=),
// so keeping the others grew the file by a list per repository a day until
// Load refused it, and a repository gone stayed in it for ever.
func (e *ETags) Save(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	keep := make(map[string]etagEntry, len(e.used))
	for u := range e.used {
		if v, ok := e.m[u]; ok {
			keep[u] = v
		}
	}
	return json.NewEncoder(w).Encode(keep)
}

// Len is the number of remembered answers.
func (e *ETags) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.m)
}

func (e *ETags) get(u string) (etagEntry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.used[u] = true
	v, ok := e.m[u]
	return v, ok
}

// downloadKey marks a download's context: ETags neither asks for nor keeps
// its answer (a log's or artifact's bytes, keyed by a signed URL, which is
// a credential, would be written to the cache file).
type downloadKey struct{}

func asDownload(ctx context.Context) context.Context {
	return context.WithValue(ctx, downloadKey{}, true)
}

// kept reports whether r's answer may be asked for conditionally and kept.
func (e *ETags) kept(r *http.Request) bool {
	return e != nil && r.Method == http.MethodGet && r.Context().Value(downloadKey{}) == nil
}

// conditional returns r with If-None-Match when an answer is remembered.
func (e *ETags) conditional(r *http.Request) (*http.Request, *etagEntry) {
	if !e.kept(r) || r.Header.Get("If-None-Match") != "" {
		return r, nil
	}
	v, ok := e.get(r.URL.String())
	if !ok {
		return r, nil
	}
	c := r.Clone(r.Context())
	c.Header.Set("If-None-Match", v.ETag)
	return c, &v
}

// answer turns a 304 into the remembered 200, and remembers a new 200.
func (e *ETags) answer(r *http.Request, resp *http.Response, was *etagEntry) (*http.Response, error) {
	if !e.kept(r) {
		return resp, nil
	}
	if resp.StatusCode == http.StatusNotModified && was != nil {
		_ = resp.Body.Close()
		resp.StatusCode, resp.Status = http.StatusOK, "200 OK (not modified)"
		resp.Header.Set("Content-Type", was.ContentType)
		if was.Link != "" {
			resp.Header.Set("Link", was.Link)
		}
		resp.Body = io.NopCloser(bytes.NewReader(was.Body))
		resp.ContentLength = int64(len(was.Body))
		return resp, nil
	}
	tag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || tag == "" || resp.ContentLength > maxETagBody {
		return resp, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxETagBody+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if len(b) <= maxETagBody && jsonDocument(b) {
		e.mu.Lock()
		e.used[r.URL.String()] = true
		e.m[r.URL.String()] = etagEntry{ETag: tag, ContentType: resp.Header.Get("Content-Type"), Link: resp.Header.Get("Link"), Body: b}
		e.mu.Unlock()
	}
	return resp, nil
}
