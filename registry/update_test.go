package registry

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestUpdateEntryGolden(t *testing.T) {
	t.Parallel()
	before, err := os.ReadFile("testdata/update/before.yaml")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile(fixtureDir + "ok-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		golden      string
		vendor, env string
		set         map[string]any
		check       func(*testing.T, *Entry)
	}{
		{"rotated.yaml", "openai", "ci", map[string]any{"last_rotated": "2026-11-28"}, func(t *testing.T, e *Entry) {
			if !e.LastRotated.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("last_rotated = %v", e.LastRotated)
			}
		}},
		{"revoked.yaml", "openai", "ci", map[string]any{"revoked": true}, func(t *testing.T, e *Entry) {
			if !e.Revoked {
				t.Error("not revoked")
			}
		}},
		{"added.yaml", "openai", "prod", map[string]any{"revoked": true, "last_rotated": time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC), "created": "2026-10-01"}, func(t *testing.T, e *Entry) {
			if !e.Revoked || e.Created.IsZero() || e.LastRotated.IsZero() {
				t.Errorf("entry %+v", e)
			}
		}},
		{"last-entry.yaml", "anthropic", "ci", map[string]any{"revoked": true, "expiry_policy": "rotate-30d", "scope": []string{"llm:messages", "llm:batch"}}, func(t *testing.T, e *Entry) {
			if !e.Revoked || e.ExpiryPolicy != "rotate-30d" || !cmp.Equal(e.Scope, []string{"llm:messages", "llm:batch"}) {
				t.Errorf("entry %+v", e)
			}
		}},
		{"quoted-and-ttl.yaml", "openai", "ci", map[string]any{"expiry_policy": "rotate-14d", "max_ttl_seconds": 600, "secret_ref": "aws-sm://openai/ci#key"}, func(t *testing.T, e *Entry) {
			if e.ExpiryPolicy != "rotate-14d" || e.MaxTTLSeconds != 600 || e.Ref.JSONKey != "key" {
				t.Errorf("entry %+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			got, err := UpdateEntry(before, tt.vendor, tt.env, tt.set)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata/update", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Every comment of the original survives.
			for _, line := range strings.Split(string(before), "\n") {
				if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(string(got), line[i:]) {
					t.Errorf("comment lost: %q", line[i:])
				}
			}
			c, err := Parse("after.yaml", got, "p.json", policy)
			if err != nil {
				t.Fatalf("result does not load: %v", err)
			}
			e, ok := c.Registry.Entry(tt.vendor, tt.env)
			if !ok {
				t.Fatal("entry gone")
			}
			tt.check(t, e)
		})
	}
}

func TestUpdateEntryEmptyValue(t *testing.T) {
	t.Parallel()
	// CRLF line endings are kept too.
	in := "openai:\r\n  ci:\r\n    secret_ref: kv://a/b\r\n    scope: [a]\r\n    max_ttl_seconds: 60\r\n    revoked:   # set me\r\n    created:\r\n"
	want := "openai:\r\n  ci:\r\n    secret_ref: kv://a/b\r\n    scope: [a]\r\n    max_ttl_seconds: 60\r\n    revoked: true   # set me\r\n    created: 2026-11-28\r\n"
	got, err := UpdateEntry([]byte(in), "openai", "ci", map[string]any{"revoked": true, "created": "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUpdateEntryRefuses(t *testing.T) {
	t.Parallel()
	before, err := os.ReadFile("testdata/update/before.yaml")
	if err != nil {
		t.Fatal(err)
	}
	flow := []byte("openai:\n  ci: {secret_ref: kv://a/b, scope: [a], max_ttl_seconds: 60}\n")
	block := []byte("openai:\n  ci:\n    secret_ref: kv://a/b\n    scope:\n      - a\n    max_ttl_seconds: 60\n")
	tests := []struct {
		name        string
		in          []byte
		vendor, env string
		set         map[string]any
		want        string
	}{
		{"no vendor", before, "xai", "ci", map[string]any{"revoked": true}, `no vendor "xai"`},
		{"no env", before, "openai", "dev", map[string]any{"revoked": true}, `no environment "dev"`},
		{"unknown key", before, "openai", "ci", map[string]any{"api_key": "x"}, "not an entry key"},
		{"wrong type", before, "openai", "ci", map[string]any{"revoked": "yes"}, "want a bool"},
		{"bad date", before, "openai", "ci", map[string]any{"last_rotated": "28.11.2026"}, "want a YYYY-MM-DD date"},
		{"value as ref", before, "openai", "ci", map[string]any{"secret_ref": fakeKey}, "looks like a secret value"},
		{"value as label", before, "openai", "ci", map[string]any{"expiry_policy": fakeKey}, "looks like a secret value"},
		{"flow entry", flow, "openai", "ci", map[string]any{"revoked": true}, "not a block mapping"},
		{"block list", block, "openai", "ci", map[string]any{"scope": []string{"b"}}, "block list"},
		{"not yaml", []byte("a: [\n"), "openai", "ci", map[string]any{"revoked": true}, "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := UpdateEntry(tt.in, tt.vendor, tt.env, tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			assertNoValue(t, fakeKey, err.Error())
		})
	}
}
