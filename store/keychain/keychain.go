// Package keychain reads keychain://SERVICE/ACCOUNT refs from the OS
// keychain for local runs: macOS Keychain, Windows Credential Manager, or a
// Secret Service on Linux (gnome-keyring, KWallet), through
// github.com/zalando/go-keyring. The registry and the lease refuse it in
// any environment but local and under CI.
package keychain

import (
	"context"
	"errors"

	"github.com/zalando/go-keyring"

	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/store"
)

// Store reads the user's keychain.
type Store struct{}

// New is the OS keychain.
func New() *Store { return &Store{} }

// Fetch reads the password of SERVICE and ACCOUNT. The version id is "":
// keychains keep none.
func (*Store) Fetch(ctx context.Context, ref registry.Ref) (secret.Value, string, error) {
	type got struct {
		v   string
		err error
	}
	// go-keyring takes no context, and a Secret Service may wait on an
	// unlock prompt: the setup deadline still ends the wait.
	ch := make(chan got, 1)
	go func() {
		v, err := keyring.Get(ref.SecretID, ref.Account)
		ch <- got{v, err}
	}()
	var g got
	select {
	case g = <-ch:
	case <-ctx.Done():
		return secret.Value{}, "", store.NewError(registry.StoreKeychain, ref.Raw, store.CodeUnavailable,
			"the keychain did not answer before the setup deadline (a locked keychain waits for its unlock prompt)", "unlock the keychain and retry", ctx.Err())
	}
	switch {
	case g.err == nil:
		return secret.FromString(g.v), "", nil
	case errors.Is(g.err, keyring.ErrNotFound):
		return secret.Value{}, "", store.NewError(registry.StoreKeychain, ref.Raw, store.CodeNotFound,
			"the keychain has no password for service "+ref.SecretID+" and account "+ref.Account,
			"add it (macOS: security add-generic-password -s "+ref.SecretID+" -a "+ref.Account+" -w; Linux: secret-tool store --label=keylease service "+ref.SecretID+" username "+ref.Account+")", nil)
	case errors.Is(g.err, keyring.ErrUnsupportedPlatform):
		return secret.Value{}, "", store.NewError(registry.StoreKeychain, ref.Raw, store.CodeUnavailable,
			"this platform has no keychain keylease can read", "use a kv:// ref", nil)
	}
	return secret.Value{}, "", store.NewError(registry.StoreKeychain, ref.Raw, store.CodeUnavailable,
		"the keychain could not be read (on Linux: no Secret Service on the session bus, or it is locked)",
		"start and unlock your keyring (gnome-keyring, KWallet), check DBUS_SESSION_BUS_ADDRESS, and retry", nil)
}
