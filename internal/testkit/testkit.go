// Package testkit holds the fixtures that the tests of several packages
// share: the emulator stack, the OpenAI emulator, a one-entry registry and
// policy, layered environments for lease.IO, a goroutine-safe buffer and
// must-style helpers.
// It is for tests only.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/vendorfake"
)

// Must fails the test on a non-nil error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes s to path (mode 0600) or fails the test.
func WriteFile(t testing.TB, path, s string) {
	t.Helper()
	Must(t, os.WriteFile(path, []byte(s), 0o600))
}

// Stack starts the loopback emulators, stops them when the test ends, and
// returns them with what their Env points a job at, as a map.
func Stack(t testing.TB) (*emulators.Stack, map[string]string) {
	t.Helper()
	stack, err := emulators.StartAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Close() })
	return stack, EnvMap(stack.Env())
}

// OpenAI starts the OpenAI emulator and stops it when the test ends.
func OpenAI(t testing.TB) *vendorfake.OpenAI {
	t.Helper()
	oa, err := vendorfake.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = oa.Close() })
	return oa
}

// EnvMap turns KEY=VALUE pairs into a map; a later pair wins.
func EnvMap(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Fixture is a registry with one entry, Vendor in Env, whose secret_ref is
// kv://Vendor/Env/api_key (scope llm:chat), and a policy that allows Vendor
// under no_logging and no_persistence.
type Fixture struct {
	Vendor, Env string
	MaxTTL      int  // the entry's max_ttl_seconds
	ShortValues bool // the policy's allow_short_values flag
}

// Write writes the fixture's registry.yaml and policy.json into dir and
// returns their paths.
func (f Fixture) Write(t testing.TB, dir string) (registry, policy string) {
	t.Helper()
	registry, policy = filepath.Join(dir, "registry.yaml"), filepath.Join(dir, "policy.json")
	WriteFile(t, registry, fmt.Sprintf(`%s:
  %s:
    secret_ref: "kv://%s/%s/api_key"
    scope: ["llm:chat"]
    max_ttl_seconds: %d
`, f.Vendor, f.Env, f.Vendor, f.Env, f.MaxTTL))
	flags := `"no_logging": true, "no_persistence": true`
	if f.ShortValues {
		flags += `, "allow_short_values": true`
	}
	WriteFile(t, policy, fmt.Sprintf(`{"version": 1, "allowed_secrets": [%q],
  "flags": {%s},
  "ttl_caps_seconds": {"local": 3600, "dev": 3600, "ci": 900, "prod": 300}}`, f.Vendor, flags))
	return registry, policy
}

// Lease is a Fixture written into a fresh directory, with the emulators
// running and the entry's secret (kv://Vendor/Env/api_key) seeded.
type Lease struct {
	Fixture
	Stack            *emulators.Stack
	Vars             map[string]string // what the stack's Env points a job at
	Dir              string            // the test's directory, holding Registry and Policy
	Registry, Policy string
}

// Start starts the emulators, seeds value under the fixture's secret_ref and
// writes the fixture into a new t.TempDir.
func (f Fixture) Start(t testing.TB, value string) *Lease {
	t.Helper()
	l := &Lease{Fixture: f, Dir: t.TempDir()}
	l.Stack, l.Vars = Stack(t)
	l.Stack.Seed(f.Vendor+"/"+f.Env+"/api_key", value)
	l.Registry, l.Policy = f.Write(t, l.Dir)
	return l
}

// Getenv looks a name up in layers, the first that holds it winning, and
// returns "" for any other: the process environment is not read, so tests
// that use it need no t.Setenv and may run in parallel.
func Getenv(layers ...map[string]string) func(string) string {
	return func(k string) string {
		v, _ := lookup(k, layers)
		return v
	}
}

// GetenvOrProcess is Getenv falling back to the process environment.
func GetenvOrProcess(layers ...map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := lookup(k, layers); ok {
			return v
		}
		return os.Getenv(k)
	}
}

func lookup(k string, layers []map[string]string) (string, bool) {
	for _, l := range layers {
		if v, ok := l[k]; ok {
			return v, true
		}
	}
	return "", false
}

// Environ returns base followed by every pair of extra, as KEY=VALUE.
func Environ(base []string, extra ...map[string]string) func() []string {
	return func() []string {
		out := append([]string(nil), base...)
		for _, m := range extra {
			for k, v := range m {
				out = append(out, k+"="+v)
			}
		}
		return out
	}
}

// WithoutAddMask drops the ::add-mask:: lines: registering a value with the
// runner's masker is the one place it is meant to appear.
func WithoutAddMask(b []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("::add-mask::")) {
			out = append(out, line...)
		}
	}
	return out
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers (two
// pipes, a timer's goroutine, a test polling for output).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
