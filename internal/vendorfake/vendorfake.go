// Package vendorfake emulates the OpenAI, Anthropic and xAI endpoints keylease
// calls (validity checks and the admin APIs) on loopback, with each vendor's
// wire shapes: JSON field names, list envelopes and cursors, status codes and
// error bodies. Minted keys have the real formats (sk-svcacct-…T3BlbkFJ…,
// xai- + 80 alphanumerics, sk-ant-api03-…AA) so detectors and masking see
// them. Every server counts calls per operation and injects faults through
// internal/fault: Error (any status; Delay adds a Retry-After), Throttle (429
// with Retry-After: the rule's Delay in whole seconds, at least 1), Latency
// and Reset; on the create calls (OpenAI service account, xAI key) also
// Field, which creates the key and then drops (Body "") or replaces a field
// of the answer.
package vendorfake

import (
	"cmp"
	"crypto/rand"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/loopback"
)

// base is what the three servers share: faults, counters, the loopback server.
type base struct {
	// Faults injects failures and counts calls per operation.
	Faults fault.Injector

	mu  sync.Mutex
	ls  *loopback.Server
	seq int
	fed *federation // the OIDC federation SetFederation accepts; nil: none
	// secrets: every key minted through the API, token issued and
	// assertion presented, for a test's leak check (Secrets).
	secrets []string
}

// keep notes v among Secrets; the caller holds b.mu.
func (b *base) keep(v string) string {
	b.secrets = append(b.secrets, v)
	return v
}

// Secrets are every key the API minted, every federated token it issued
// and every OIDC assertion presented to its token endpoint, so a test can
// check that none of them leaked.
func (b *base) Secrets() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.secrets...)
}

// URL is the server's base URL (http://127.0.0.1:PORT).
func (b *base) URL() string { return b.ls.BaseURL() }

// Close stops the server.
func (b *base) Close() error { return b.ls.Close() }

func (b *base) start(h http.Handler) error {
	ls, err := loopback.Start(h)
	if err != nil {
		return err
	}
	b.ls = ls
	return nil
}

// nextID returns prefix + a counter, under b.mu.
func (b *base) nextID(prefix string) string {
	b.seq++
	return prefix + strconv.Itoa(100000+b.seq)
}

// begin counts op and applies its fault; it reports true when the call was
// answered (fault) and the handler must stop.
func (b *base) begin(w http.ResponseWriter, r *http.Request, op string, writeErr func(w http.ResponseWriter, status int, code, msg string)) bool {
	f, ok := b.Faults.Call(op)
	if !ok {
		return false
	}
	return b.apply(w, r, f, writeErr)
}

// beginField is begin for a call that serves fault.Field itself (a create
// call whose answer loses a field after the key was made): such a rule is
// returned, not applied.
func (b *base) beginField(w http.ResponseWriter, r *http.Request, op string, writeErr func(w http.ResponseWriter, status int, code, msg string)) (*fault.Rule, bool) {
	f, ok := b.Faults.Call(op)
	if !ok {
		return nil, false
	}
	if f.Kind == fault.Field {
		return &f, false
	}
	return nil, b.apply(w, r, f, writeErr)
}

// setField serves a fault.Field rule on answer m: the field is dropped when
// the rule's Body is "", else set to Body.
func setField(m map[string]any, f *fault.Rule) {
	if f == nil {
		return
	}
	if f.Body == "" {
		delete(m, f.Field)
		return
	}
	m[f.Field] = f.Body
}

func (b *base) apply(w http.ResponseWriter, r *http.Request, f fault.Rule, writeErr func(w http.ResponseWriter, status int, code, msg string)) bool {
	switch f.Kind {
	case fault.Error:
		st := f.Status
		if st == 0 {
			st = http.StatusInternalServerError
		}
		if f.Delay > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(f.Delay.Seconds()))))
		}
		writeErr(w, st, f.Code, cmp.Or(f.Message, http.StatusText(st)))
		return true
	case fault.Throttle:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(f.Delay.Seconds()))))
		writeErr(w, http.StatusTooManyRequests, f.Code, cmp.Or(f.Message, "Rate limit reached for requests"))
		return true
	}
	return fault.Apply(w, r, f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	loopback.WriteJSON(w, "application/json", status, v)
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return h[7:]
	}
	return ""
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randChars returns n characters of set, holding at least one upper-case
// letter, one lower-case letter and one digit (as real keys do, and as the
// detectors require).
func randChars(n int, set string) string {
	for {
		b := make([]byte, n)
		for i := range b {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
			if err != nil {
				panic(err) // crypto/rand does not fail on supported platforms
			}
			b[i] = set[k.Int64()]
		}
		s := string(b)
		if strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(s, "0123456789") {
			return s
		}
	}
}

// page cuts ids (sorted) after cursor "after" to at most limit entries and
// reports whether more follow.
func page(ids []string, after string, limit int) ([]string, bool) {
	sort.Strings(ids)
	start := 0
	if after != "" {
		start = sort.SearchStrings(ids, after)
		if start < len(ids) && ids[start] == after {
			start++
		}
	}
	end := min(start+limit, len(ids))
	if start > end {
		start = end
	}
	return ids[start:end], end < len(ids)
}

func limitParam(r *http.Request, name string, def, maxLimit int) (int, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, false
	}
	return n, true
}
