package keychain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/store"
)

// realKeyring skips unless KEYLEASE_KEYRING_TEST=1 says a real keychain is
// there to write to (on Linux: .ci/keyring.sh's gnome-keyring).
func realKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv("KEYLEASE_KEYRING_TEST") != "1" {
		t.Skip("set KEYLEASE_KEYRING_TEST=1 with a Secret Service running (.ci/keyring.sh) to test against a real keychain")
	}
}

func randomName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "keylease-test-" + hex.EncodeToString(b)
}

func TestRealKeychain(t *testing.T) {
	realKeyring(t)
	service := randomName(t)
	key := "sk-proj-" + randomName(t) + "-keychain-test-value"
	if err := keyring.Set(service, "ci", key); err != nil {
		t.Fatalf("writing the test item: %v", err)
	}
	t.Cleanup(func() { _ = keyring.Delete(service, "ci") })

	ref, err := registry.ParseRef("keychain://"+service+"/ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, vid, err := New().Fetch(context.Background(), ref)
	if err != nil || string(v.Bytes()) != key || vid != "" {
		t.Fatalf("Fetch = %d bytes, %q, %v; want the stored key", v.Len(), vid, err)
	}

	missing, _ := registry.ParseRef("keychain://"+service+"/nobody", nil)
	_, _, err = New().Fetch(context.Background(), missing)
	var se *store.Error
	if !errors.As(err, &se) || se.Code != store.CodeNotFound || se.Ref != missing.Raw {
		t.Fatalf("a missing item: %v; want NotFound naming the ref", err)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), key)
}

// Without a Secret Service (no session bus), the error names the ref and
// says what to start; it runs everywhere a keychain is not Linux's.
func TestNoSecretService(t *testing.T) {
	if os.Getenv("KEYLEASE_KEYRING_TEST") == "1" {
		t.Skip("a keychain is running")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/keylease-test-bus")
	ref, _ := registry.ParseRef("keychain://keylease-test/ci", nil)
	_, _, err := New().Fetch(context.Background(), ref)
	var se *store.Error
	if !errors.As(err, &se) || se.Ref != ref.Raw || (se.Code != store.CodeUnavailable && se.Code != store.CodeNotFound) {
		t.Fatalf("got %v; want a store error naming the ref", err)
	}
}
