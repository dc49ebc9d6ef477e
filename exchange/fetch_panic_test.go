package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/keylease/keylease/exchange"
)

// panickingClient stands for a bug deep in the SDK or a transport: it panics
// with a value that carries a secret, from inside Fetch's worker goroutines.
type panickingClient struct{ value string }

func (p panickingClient) Do(*http.Request) (*http.Response, error) {
	panic("transport bug while holding " + p.value)
}

// TestFetchRecoversWorkerPanic: a panic in a worker goroutine would end the
// process with the raw panic value on stderr, past every sanitizer. Fetch
// must turn it into a value-free *Error for each ref instead.
func TestFetchRecoversWorkerPanic(t *testing.T) {
	t.Parallel()
	l, sess, _ := leased(t)
	for _, reqs := range [][]exchange.Request{
		{{Label: "kv://openai/ci", SecretID: "kv/openai/ci"}},                                                // GetSecretValue
		{{Label: "kv://openai/ci", SecretID: "kv/openai/ci"}, {Label: "kv://xai/ci", SecretID: "kv/xai/ci"}}, // BatchGetSecretValue
	} {
		cfg := sess.Config(l.awsConfig())
		cfg.HTTPClient = panickingClient{value: openaiKey}
		got, err := exchange.NewFetcher(cfg).Fetch(context.Background(), reqs)
		if err == nil {
			t.Fatalf("Fetch(%d refs) after a worker panic: no error", len(reqs))
		}
		var e *exchange.Error
		if !errors.As(err, &e) || e.Code != "InternalError" {
			t.Errorf("err = %v, want an *Error with code InternalError", err)
		}
		for _, s := range got {
			if !s.Value.IsZero() {
				t.Errorf("a value was returned for %s after a panic", s.Label)
			}
		}
		assertNoSecret(t, errText(err), append(l.secrets(sess), append(allValues, openaiKey)...)...)
	}
}
