// Command opfake stands in for the 1Password CLI (op) in tests, where the
// real one cannot be installed. It follows op's documented contract for
// `op read`: the field's value on stdout (no newline with --no-newline) and
// exit status 0; else exit status 1 and one "[ERROR] <date> <time> <message>"
// line on stderr.
//
// Its items live in the JSON file named by OP_FAKE_DB:
//
//	{"token": "ops_…", "items": {"op://v/i/f": "value"}, "denied": ["v"], "down": false}
//
// OP_SERVICE_ACCOUNT_TOKEN must equal token; a vault in denied answers as
// one the service account may not read; down answers as an unreachable
// 1Password. With OP_FAKE_ENV_OUT set, the names (never the values) of the
// variables op was given are written there, one a line; with
// OP_FAKE_ARGS_OUT set, its arguments, one a line.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

type db struct {
	Token  string            `json:"token"`
	Items  map[string]string `json:"items"`
	Denied []string          `json:"denied"`
	Down   bool              `json:"down"`
}

func main() { os.Exit(run(os.Args[1:])) }

func fail(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, "[ERROR] %s %s\n", time.Now().Format("2006/01/02 15:04:05"), fmt.Sprintf(format, a...))
	return 1
}

func run(args []string) int {
	if len(args) == 0 || args[0] != "read" {
		return fail("unknown command; this stand-in supports only op read")
	}
	newline := true
	var ref string
	for _, a := range args[1:] {
		switch {
		case a == "--no-newline" || a == "-n":
			newline = false
		case strings.HasPrefix(a, "-"):
			return fail("unknown flag: %s", a)
		default:
			ref = a
		}
	}
	if out := os.Getenv("OP_FAKE_ARGS_OUT"); out != "" {
		_ = os.WriteFile(out, []byte(strings.Join(args, "\n")), 0o600) //nolint:gosec // the test names the file
	}
	if out := os.Getenv("OP_FAKE_ENV_OUT"); out != "" {
		var names []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			names = append(names, k)
		}
		sort.Strings(names)
		_ = os.WriteFile(out, []byte(strings.Join(names, "\n")), 0o600) //nolint:gosec // the test names the file
	}
	raw, err := os.ReadFile(os.Getenv("OP_FAKE_DB")) //nolint:gosec // the test names the file
	var d db
	if err != nil || json.Unmarshal(raw, &d) != nil {
		return fail("stand-in op: OP_FAKE_DB is not readable JSON")
	}
	if d.Down {
		return fail(`could not read secret '%s': error initializing client: Post "https://my.1password.com/api/v2/auth/start": dial tcp: lookup my.1password.com: no such host`, ref)
	}
	tok := os.Getenv("OP_SERVICE_ACCOUNT_TOKEN")
	if tok == "" {
		return fail("You are not currently signed in. Please run `op signin --help` for instructions")
	}
	if tok != d.Token {
		return fail("error initializing client: authentication failed: invalid service account token")
	}
	body, ok := strings.CutPrefix(ref, "op://")
	parts := strings.Split(body, "/")
	if !ok || len(parts) < 3 || len(parts) > 4 {
		return fail("could not parse secret reference: expected op://<vault>/<item>[/<section>]/<field>")
	}
	for _, v := range d.Denied {
		if v == parts[0] {
			return fail(`could not read secret '%s': You do not have permission to access vault %q (forbidden)`, ref, parts[0])
		}
	}
	v, ok := d.Items[ref]
	if !ok {
		return fail(`could not read secret '%s': %q isn't an item in the %q vault. Specify the item with its UUID, name, or domain.`, ref, parts[1], parts[0])
	}
	if newline {
		v += "\n"
	}
	_, _ = os.Stdout.WriteString(v)
	return 0
}
