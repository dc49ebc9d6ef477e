package lease

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/registry"
)

// TestStoreCredentialsMasked: every variable the child is kept from because
// it is a store's credential is masked too, the prefixed ones included (an
// `op signin` session, OP_SESSION_<account>): a line quoting one is printed
// without it.
func TestStoreCredentialsMasked(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"OP_SERVICE_ACCOUNT_TOKEN": "ops_StoreCredTest0123456789abcdefGHIJ",
		"OP_CONNECT_TOKEN":         "opc_StoreCredTest0123456789abcdefGHIJ",
		"OP_SESSION_my":            "sess_StoreCredTest0123456789abcdefGH",
	}
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	var out, errb bytes.Buffer
	l := New(Options{}, IO{Stdout: &out, Stderr: &errb, Getenv: testkit.Getenv(vars), Environ: func() []string { return env }})
	defer l.Close()
	ref, err := registry.ParseRef("op://CI/OpenAI/credential", nil)
	testkit.Must(t, err)
	if _, err := l.openStore(context.Background(), ref); err != nil {
		t.Fatalf("openStore: %v", err)
	}
	var line strings.Builder
	for k, v := range vars {
		line.WriteString(k + "=" + v + " ")
	}
	got := l.set.Sanitize(line.String())
	for k := range vars {
		leakcheck.Assert(t, k, []byte(got), vars[k])
	}
	leakcheck.Assert(t, "stdout and stderr", append(out.Bytes(), errb.Bytes()...), vars["OP_SERVICE_ACCOUNT_TOKEN"], vars["OP_CONNECT_TOKEN"], vars["OP_SESSION_my"])
}
