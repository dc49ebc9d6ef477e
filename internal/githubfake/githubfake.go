// Package githubfake emulates the GitHub REST endpoints keylease calls, on
// loopback, with GitHub's JSON shapes, status codes and headers: repository,
// git refs, contents, pulls, issues, secret-name lists, org repositories,
// workflow runs/jobs/artifacts and the log and artifact downloads, which
// answer 302 to a short-lived signed URL on another path that refuses any
// request carrying an Authorization header. Lists page with per_page/page
// and a Link header; every answer carries X-RateLimit-* headers.
//
// GET answers carry an ETag and are 304 Not Modified (not counted against
// the budget of SetLimits) when If-None-Match names it, as on GitHub.
//
// Faults (internal/fault) apply per operation: Error answers with Status and
// {"message"}; Throttle answers a secondary rate limit (403, Retry-After:
// the rule's Delay in whole seconds, at least 1), or with Code "primary" a
// primary one (403, X-RateLimit-Remaining: 0, X-RateLimit-Reset: now+Delay);
// Latency and Reset as usual.
package githubfake

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/loopback"
)

// Operation names for fault rules and counters.
const (
	OpGetRepo       = "repos.get"
	OpGetRef        = "git.get_ref"
	OpCreateRef     = "git.create_ref"
	OpGetContents   = "repos.get_contents"
	OpUpdateFile    = "repos.update_file"
	OpListPulls     = "pulls.list"
	OpCreatePull    = "pulls.create"
	OpEditPull      = "pulls.edit"
	OpListIssues    = "issues.list"
	OpCreateIssue   = "issues.create"
	OpEditIssue     = "issues.edit"
	OpListSecrets   = "actions.list_secrets"
	OpListOrgRepos  = "repos.list_by_org"
	OpListRuns      = "actions.list_runs"
	OpListJobs      = "actions.list_jobs"
	OpListArtifacts = "actions.list_artifacts"
	OpJobLogs       = "actions.job_logs"
	OpArtifactZip   = "actions.artifact_zip"
	OpBlob          = "blob"
)

// PR is a pull request as the fake holds it.
type PR struct {
	Number      int
	Title, Body string
	Head, Base  string
	State       string
}

// Issue is an issue as the fake holds it.
type Issue struct {
	Number      int
	Title, Body string
	Labels      []string
	State       string
	IsPR        bool
}

// Repo is one repository's state.
type Repo struct {
	ID            int64
	Owner, Name   string
	DefaultBranch string
	Refs          map[string]string            // branch -> commit sha
	Files         map[string]map[string][]byte // branch -> path -> bytes
	Pulls         []*PR
	Issues        []*Issue // issues and PRs share numbers, as on GitHub
	Secrets       []string
	Envs          map[string][]string // environment -> secret names
	Runs          []int64             // run ids
	Jobs          map[int64][]int64   // run -> job ids
	EarlierJobs   map[int64][]int64   // run -> jobs of its earlier attempts: listed only with filter=all, as on GitHub (whose default is latest)
	Logs          map[int64][]byte    // job -> log
	Artifacts     map[int64][]byte    // artifact id -> zip bytes
	RunArtifacts  map[int64][]int64   // run -> artifact ids
}

// Server is the emulated GitHub API. Its methods are safe for concurrent use.
type Server struct {
	// Faults injects failures and counts calls per operation.
	Faults fault.Injector
	// BlobTTL is how long a signed download URL is good for (default 1 minute).
	BlobTTL time.Duration

	prefix string
	token  string
	key    []byte

	mu               sync.Mutex
	repos            map[string]*Repo
	orgs             map[string][]string // org -> repo names
	orgSec           map[string][]string
	ls               *loopback.Server
	seq              int64
	BlobAuthRejected int // downloads refused for carrying Authorization

	// started stamps created_at/updated_at: the same list gives the same
	// bytes (and ETag) however often it is asked for.
	started time.Time

	tokens map[string]bool // more tokens (AddToken): may they list secrets
	lim    limiter
}

// Start serves a fake GitHub on 127.0.0.1 under prefix ("" like
// api.github.com, "/api/v3" like GHES), accepting token.
func Start(prefix, token string) (*Server, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	s := &Server{prefix: strings.TrimRight(prefix, "/"), token: token, key: k, repos: map[string]*Repo{}, orgs: map[string][]string{}, orgSec: map[string][]string{}, BlobTTL: time.Minute, started: time.Now().UTC().Truncate(time.Second)}
	ls, err := loopback.Start(s)
	if err != nil {
		return nil, err
	}
	s.ls = ls
	return s, nil
}

// APIURL is what GITHUB_API_URL should be set to.
func (s *Server) APIURL() string { return s.ls.URL + s.prefix }

// Close stops the server.
func (s *Server) Close() error { return s.ls.Close() }

// AddRepo creates owner/name with one commit on defaultBranch and returns it
// for seeding (hold Lock while changing it after the server is in use).
func (s *Server) AddRepo(owner, name, defaultBranch string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	r := &Repo{ID: 1000 + s.seq, Owner: owner, Name: name, DefaultBranch: defaultBranch,
		Refs: map[string]string{defaultBranch: sha("init " + owner + name)}, Files: map[string]map[string][]byte{defaultBranch: {}},
		Envs: map[string][]string{}, Jobs: map[int64][]int64{}, EarlierJobs: map[int64][]int64{}, Logs: map[int64][]byte{}, Artifacts: map[int64][]byte{}, RunArtifacts: map[int64][]int64{}}
	s.repos[owner+"/"+name] = r
	s.orgs[owner] = append(s.orgs[owner], name)
	return r
}

// AddOrgSecrets adds organization secret names.
func (s *Server) AddOrgSecrets(org string, names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgSec[org] = append(s.orgSec[org], names...)
}

// Lock guards the Repo values while a test reads or seeds them.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:20])
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/_blob/") {
		s.blob(w, r)
		return
	}
	if !strings.HasPrefix(path, s.prefix+"/") {
		s.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, s.prefix+"/"), "/")
	op, h := s.route(r.Method, parts)
	if h == nil {
		s.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	tok, ok, secrets := s.authorized(r)
	if !ok {
		s.rateHeaders(w, 4999)
		s.errorJSON(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	done, ok := s.admit(w, tok)
	if !ok {
		return
	}
	defer done()
	if f, ok := s.Faults.Call(op); ok && s.fault(w, r, f) {
		return // faults write to the connection itself (streams, resets)
	}
	if r.Method == http.MethodGet && op != OpJobLogs && op != OpArtifactZip {
		cw := &condWriter{ResponseWriter: w}
		defer cw.finish(r, func() int { return s.refund(tok) })
		w = cw
	}
	if op == OpListSecrets && !secrets {
		s.errorJSON(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h(w, r)
}

// authorized returns the request's token, whether it is accepted, and
// whether it may list secrets (Start's token may; AddToken says for others).
func (s *Server) authorized(r *http.Request) (tok string, ok, secrets bool) {
	a := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "token "} {
		if !strings.HasPrefix(a, p) {
			continue
		}
		tok = a[len(p):]
		if hmac.Equal([]byte(tok), []byte(s.token)) {
			return tok, true, true
		}
		s.mu.Lock()
		canList, known := s.tokens[tok]
		s.mu.Unlock()
		return tok, known, canList
	}
	return "", false, false
}

func (s *Server) rateHeaders(w http.ResponseWriter, remaining int) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request, f fault.Rule) bool {
	switch f.Kind {
	case fault.Error:
		st := f.Status
		if st == 0 {
			st = http.StatusInternalServerError
		}
		s.errorJSON(w, st, cmp.Or(f.Message, http.StatusText(st)))
		return true
	case fault.Throttle:
		secs := max(1, int(f.Delay.Seconds()))
		if f.Code == "primary" {
			s.rateHeaders(w, 0)
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Duration(secs)*time.Second).Unix(), 10))
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "API rate limit exceeded for installation ID 1.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"})
			return true
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
		return true
	}
	return fault.Apply(w, r, f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	loopback.WriteJSON(w, "application/json; charset=utf-8", status, v)
}

func (s *Server) errorJSON(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)})
}

// paginate writes items[page] with a Link header, as GitHub pages lists.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, n int, wrap func(lo, hi int) any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg <= 0 {
		pg = 1
	}
	last := max(1, (n+per-1)/per)
	lo, hi := min((pg-1)*per, n), min(pg*per, n)
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		links = append(links, link(1, "first"), link(pg-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, wrap(lo, hi))
}

func (s *Server) nextSHA() string {
	s.seq++
	return sha(strconv.FormatInt(s.seq, 10))
}

// signBlob returns a short-lived URL for a download.
func (s *Server) signBlob(kind string, id int64) string {
	exp := time.Now().Add(s.BlobTTL).Unix()
	msg := fmt.Sprintf("%s/%d/%d", kind, id, exp)
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(msg))
	return fmt.Sprintf("%s/_blob/%s/%d?exp=%d&sig=%s", s.ls.URL, kind, id, exp, base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
}

func (s *Server) blob(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Faults.Call(OpBlob); ok && s.fault(w, r, f) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Authorization") != "" {
		// Like a storage host given a second credential: refuse outright.
		s.BlobAuthRejected++
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code><Message>Authentication information is not given in the correct format.</Message></Error>`))
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/_blob/"), "/")
	q := r.URL.Query()
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	if len(parts) != 2 || exp < time.Now().Unix() {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	id, _ := strconv.ParseInt(parts[1], 10, 64)
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s/%d/%d", parts[0], id, exp)
	want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(q.Get("sig"))) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	for _, repo := range s.repos {
		var b []byte
		var ok bool
		if parts[0] == "logs" {
			b, ok = repo.Logs[id]
		} else {
			b, ok = repo.Artifacts[id]
		}
		if ok {
			// A storage host tags its blobs, as GitHub's does.
			sum := sha256.Sum256(b)
			w.Header().Set("ETag", `"0x`+hex.EncodeToString(sum[:8])+`"`)
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(b)
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
}
