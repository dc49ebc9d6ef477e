// Package op reads op:// refs through the 1Password CLI: `op read`, with
// the service-account token (OP_SERVICE_ACCOUNT_TOKEN) in op's environment
// only. The value is read from op's stdout into memory, never a file.
//
// There is no Go library for 1Password service accounts that is as
// well-kept as the CLI, so the CLI is the store's interface: its contract
// is exit status 0 with the value on stdout, else a non-zero status and an
// "[ERROR] <date> <time> <message>" line on stderr. That message is
// classified here, never repeated (it may quote the item or the token).
package op

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/store"
)

// TokenVar is the service-account token op reads; only op receives it.
const TokenVar = "OP_SERVICE_ACCOUNT_TOKEN" //nolint:gosec // G101: a variable name, not a credential

// Store runs op.
type Store struct {
	environ func() []string
}

// New runs op with what it needs of environ (keylease's environment):
// PATH, home and temp directories, locale, proxies and OP_* — not the
// runner's, AWS's or any leased credential.
func New(environ func() []string) *Store { return &Store{environ: environ} }

// waitDelay bounds how long op's pipes are read after it exits or is killed.
const waitDelay = 2 * time.Second

// Fetch runs `op read --no-newline REF`. The version id is "" (op read does
// not report one).
func (s *Store) Fetch(ctx context.Context, ref registry.Ref) (secret.Value, string, error) {
	fail := func(code, msg, hint string, cause error) (secret.Value, string, error) {
		return secret.Value{}, "", store.NewError(registry.StoreOP, ref.Raw, code, msg, hint, cause)
	}
	path, err := exec.LookPath("op")
	if err != nil {
		return fail(store.CodeUnavailable, "the 1Password CLI (op) is not on PATH",
			"install it (https://developer.1password.com/docs/cli/get-started/) or put it on PATH", nil)
	}
	cmd := exec.CommandContext(ctx, path, "read", "--no-newline", ref.Raw) //nolint:gosec // G204: op from PATH; the ref is one argv element, parsed (op://…, no leading -)
	cmd.Env = opEnv(s.environ())
	out := &capped{max: exchange.MaxValueBytes + 1}
	errOut := &capped{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, errOut
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	defer clear(errOut.b)
	if ctx.Err() != nil {
		clear(out.b)
		return fail(store.CodeUnavailable, "op read did not finish before the setup deadline", "check the network and 1Password's status, or raise --setup-timeout", ctx.Err())
	}
	if err != nil {
		clear(out.b)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fail(store.CodeUnavailable, "op could not be run", "check that op on PATH is the 1Password CLI and executable", nil)
		}
		code, msg, hint := classify(errOut.b, ref)
		return fail(code, msg+" (op exit status "+strconv.Itoa(ee.ExitCode())+")", hint, nil)
	}
	if out.over {
		clear(out.b)
		return fail(store.CodeBadValue, "op printed more than one environment variable can hold", "point the ref at the key's field", nil)
	}
	// Older op versions ignore --no-newline's promise on some fields.
	b := bytes.TrimSuffix(bytes.TrimSuffix(out.b, []byte("\n")), []byte("\r"))
	v := secret.New(b)
	clear(out.b)
	return v, "", nil
}

// classify turns op's stderr into a code, a message and a hint of our own.
// op quotes the ref and its names, which are the user's: they are cut out
// first, so that an item called "not found" or "network" cannot decide it.
func classify(stderr []byte, ref registry.Ref) (code, msg, hint string) {
	s := strings.ReplaceAll(string(stderr), ref.Raw, "")
	for _, name := range strings.Split(ref.SecretID, "/") {
		s = strings.ReplaceAll(s, `"`+name+`"`, `""`)
		s = strings.ReplaceAll(s, "'"+name+"'", "''")
	}
	s = strings.ToLower(s)
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case has("isn't an item", "isn't a vault", "does not have a field", "no item found", "not found"):
		return store.CodeNotFound, "1Password has no such vault, item or field, or the service account cannot see it",
			"check the ref's vault, item and field names (or use their IDs) and that the vault is shared with the service account"
	case has("permission", "forbidden", "not authorized", "unauthorized", "access denied"):
		return store.CodeDenied, "the service account may not read this item",
			"grant the service account read access to the vault"
	case has("not currently signed in", "service account token", "authentication", "sign in", "signin", "invalid token", "expired"):
		return store.CodeAuth, "op is not signed in or the service-account token was refused",
			"set " + TokenVar + " to a valid service-account token (from a GitHub secret mapped to the step), or sign in locally with op signin"
	case has("dial tcp", "no such host", "connection refused", "timeout", "timed out", "network", "eof", "503", "502", "500"):
		return store.CodeUnavailable, "op could not reach 1Password",
			"check the network, HTTPS_PROXY/NO_PROXY and 1Password's status, then retry"
	}
	return store.CodeUnavailable, "op read failed", "run op read with the same ref locally to see op's own message"
}

// opEnvNames are the variables op may need besides OP_*.
var opEnvNames = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "USERPROFILE": true, "APPDATA": true, "LOCALAPPDATA": true,
	"XDG_CONFIG_HOME": true, "XDG_RUNTIME_DIR": true, "TMPDIR": true, "TEMP": true, "TMP": true,
	"SYSTEMROOT": true, "SYSTEMDRIVE": true, "COMSPEC": true, "LANG": true, "LC_ALL": true,
	"HTTPS_PROXY": true, "HTTP_PROXY": true, "NO_PROXY": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

func opEnv(parent []string) []string {
	var out []string
	for _, kv := range parent {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if up := strings.ToUpper(k); opEnvNames[up] || strings.HasPrefix(up, "OP_") {
			out = append(out, kv)
		}
	}
	return out
}

// capped keeps at most max bytes and notes that more came; growing it
// copies, so each old buffer is wiped before it is dropped.
type capped struct {
	b    []byte
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - len(c.b); len(p) > room {
		p, c.over = p[:max(room, 0)], true
	}
	if len(c.b)+len(p) > cap(c.b) {
		nb := make([]byte, len(c.b), max(2*cap(c.b), len(c.b)+len(p), 512))
		copy(nb, c.b)
		clear(c.b)
		c.b = nb
	}
	c.b = append(c.b, p...)
	return n, nil
}
