package record

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keylease/keylease/internal/leakcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// leaked is a fake vendor key used to prove that a record carrying it is refused.
const leaked = "sk-proj-RecordTestKey0123456789abcdefXYZ"

// forms are the encodings the test scanner looks for (the real masking.Scanner
// checks many more; record only needs "any finding withholds the record").
func forms(v string) [][]byte {
	return [][]byte{
		[]byte(v),
		[]byte(base64.StdEncoding.EncodeToString([]byte(v))),
		[]byte(hex.EncodeToString([]byte(v))),
	}
}

// exactScan reports one finding per occurrence of any form.
func exactScan(b []byte) []int {
	var found []int
	for _, f := range forms(leaked) {
		for off := 0; ; {
			i := bytes.Index(b[off:], f)
			if i < 0 {
				break
			}
			found = append(found, off+i)
			off += i + len(f)
		}
	}
	return found
}

func assertNoForm(t *testing.T, what string, b []byte) {
	t.Helper()
	leakcheck.Assert(t, what, b, leaked)
}

var t0 = time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)

func fullRecord() *Record {
	return &Record{
		KeyleaseVersion: "v1.0.0",
		Run: Run{Mode: "github-actions", Repository: "acme/app", Workflow: "ci", Job: "test",
			RunID: "123456", RunAttempt: "1", Ref: "refs/heads/main", SHA: "0123456789abcdef0123456789abcdef01234567",
			Actor: "octocat", Event: "push", RunnerEnvironment: "github-hosted", RunnerOS: "Linux"},
		Identity: &Identity{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/app:ref:refs/heads/main",
			Audience: "sts.amazonaws.com", JobWorkflowRef: "acme/app/.github/workflows/ci.yml@refs/heads/main",
			IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)},
		Session: &Session{Source: "oidc", RoleARN: "arn:aws:iam::123456789012:role/keylease-ci",
			SessionName: "keylease-123456-1", ExpiresAt: t0.Add(15 * time.Minute)},
		Leases: []Lease{
			{Ref: "kv://openai/ci/api_key", Vendor: "openai", Environment: "ci", Scope: []string{"llm:chat"},
				EnvVar: "OPENAI_API_KEY", TTLSeconds: 900, IssuedAt: t0, ExpiresAt: t0.Add(15 * time.Minute),
				VersionID: "v-1", Outcome: OutcomeLeased},
			{Ref: "kv://anthropic/ci/api_key", Vendor: "anthropic", Environment: "ci", Scope: []string{"llm:chat"},
				EnvVar: "ANTHROPIC_API_KEY", TTLSeconds: 600, IssuedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
				VersionID: "v-7", Outcome: OutcomeLeased},
		},
		Command: &Command{ExitCode: 0, DurationMS: 1234},
		Masking: Masking{Values: 5, Forms: 120, RunnerRegistrations: 40, Redactions: 3},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  func() *Record
	}{
		{"full", fullRecord},
		{"local", func() *Record {
			return &Record{KeyleaseVersion: "dev", Run: Run{Mode: "local"},
				Session: &Session{Source: "aws-default"},
				Leases: []Lease{{Ref: "aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:xai#key", Vendor: "xai",
					Environment: "local", EnvVar: "XAI_API_KEY", TTLSeconds: 3600, IssuedAt: t0,
					ExpiresAt: t0.Add(time.Hour), Outcome: OutcomeLeased}},
				Command: &Command{ExitCode: 124, Signal: 15, DurationMS: 3600000, LeaseExpired: true}}
		}},
		{"refused", func() *Record {
			return &Record{KeyleaseVersion: "dev", Run: Run{Mode: "local"},
				Leases: []Lease{{Ref: "kv://openai/prod/api_key", Vendor: "openai", Environment: "prod",
					EnvVar: "OPENAI_API_KEY", TTLSeconds: 300, Outcome: OutcomeRefused,
					Error: "registry entry openai.prod is revoked"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Seal(tt.rec(), []string{"anthropic", "openai", "xai"}, exactScan)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name+".golden", b)
			// The golden round-trips through the strict decoder.
			r, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := r.Marshal()
			if diff := cmp.Diff(string(b), string(again)); diff != "" {
				t.Errorf("decode/encode changed the record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIncidentGolden(t *testing.T) {
	t.Parallel()
	b := Incident(IncidentRecordLeak, t0.Add(1500*time.Millisecond))
	checkGolden(t, "incident.golden", b)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./record -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	withValue := func(where string) func(*Record) {
		return func(r *Record) {
			switch where {
			case "error":
				r.Leases[0].Error = "upstream said " + leaked
			case "ref-base64":
				r.Leases[1].Ref = "kv://" + base64.StdEncoding.EncodeToString([]byte(leaked))
			case "subject-hex":
				r.Identity.Subject = hex.EncodeToString([]byte(leaked))
			}
		}
	}
	tests := []struct {
		name   string
		mutate func(*Record)
		leak   bool
	}{
		{"clean", func(*Record) {}, false},
		{"value in an error", withValue("error"), true},
		{"base64 in a ref", withValue("ref-base64"), true},
		{"hex in a claim", withValue("subject-hex"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "rec.json")
			r := fullRecord()
			tt.mutate(r)
			err := Write(path, r, nil, exactScan, t0)
			var le *LeakError
			if tt.leak {
				if !errors.As(err, &le) || le.Findings == 0 {
					t.Fatalf("err %v, want *LeakError", err)
				}
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("record written despite a finding (stat err %v)", err)
				}
				inc, rerr := os.ReadFile(le.IncidentPath)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if !bytes.Equal(inc, Incident(IncidentRecordLeak, t0)) {
					t.Errorf("incident %q is not type-and-time only", inc)
				}
				assertNoForm(t, "error message", []byte(err.Error()))
			} else if err != nil {
				t.Fatal(err)
			}
			// Canary: nothing under the directory holds a form of the value.
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, rerr := os.ReadFile(p) //nolint:gosec // the test's own temp dir
				if rerr != nil {
					t.Fatal(rerr)
				}
				assertNoForm(t, p, b)
				if fi, _ := d.Info(); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
				}
				return nil
			})
		})
	}
}

func TestWriteFileRefusesExisting(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteFile(path, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, []byte("{}\n"))
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err %v, want 'already exists' naming the path", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"RUNNER_TEMP": "/rt", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2"}
	p := DefaultPath(func(k string) string { return vars[k] })
	if filepath.Dir(p) != filepath.Join("/rt", "keylease") || !strings.HasPrefix(filepath.Base(p), "keylease-record-42-2-") {
		t.Fatalf("path %q", p)
	}
	if DefaultPath(func(k string) string { return vars[k] }) == p {
		t.Fatal("two default paths collide")
	}
	vars["GITHUB_RUN_ID"] = "../../etc"
	if p := DefaultPath(func(k string) string { return vars[k] }); filepath.Dir(p) != filepath.Join("/rt", "keylease") {
		t.Fatalf("run id escaped the record directory: %q", p)
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"other schema", `{"schema":"x"}`, "schema"},
		{"unknown field", `{"schema":"keylease.run-record/v1","value":"x"}`, "unknown field"},
		{"trailing", `{"schema":"keylease.run-record/v1"} {}`, "after the JSON"},
		{"not json", `nope`, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Decode([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"full.golden", "local.golden", "refused.golden"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			// Fixed texts: nothing of the input is quoted.
			if msg := err.Error(); strings.ContainsAny(msg, "\"\r\n") || !errors.Is(err, ErrNotRecord) {
				t.Fatalf("Decode error quotes its input or is not ErrNotRecord: %q", msg)
			}
			return
		}
		// Whatever decodes re-encodes and decodes to the same record.
		out, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(r, r2); diff != "" {
			t.Fatalf("round trip changed the record:\n%s", diff)
		}
	})
}

// TestDecodeNeverQuotesInput: Decode's errors are fixed messages. Before the
// fix they quoted an unknown field's name and the schema value, so `keylease
// scan --record` printed the very key it hunts for.
func TestDecodeNeverQuotesInput(t *testing.T) {
	t.Parallel()
	key := "sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0Jf"
	num := "12345678901234567890123456789"
	tests := []struct{ name, in, secret, want string }{
		{"schema", `{"schema":"` + key + `"}`, key, "schema"},
		{"unknown field", `{"schema":"keylease.run-record/v1","` + key + `":1}`, key, "unknown field"},
		{"nested unknown field", `{"schema":"keylease.run-record/v1","leases":[{"` + key + `":1}]}`, key, "unknown field"},
		{"wrong type number", `{"schema":` + num + `}`, num, "wrong type"},
		{"wrong type string", `{"schema":"keylease.run-record/v1","leases":"` + key + `"}`, key, "wrong type"},
		{"syntax", `{"schema":"keylease.run-record/v1",` + key + `}`, key, "not valid"},
		{"command in field", "{\"schema\":\"keylease.run-record/v1\",\"x\\r::add-mask::y\":1}", "::add-mask::", "unknown field"},
		{"incident", `{"schema":"keylease.incident/v1"}`, "", "incident"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatal("Decode accepted it")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to mention %q", msg, tt.want)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error holds a line break: %q", msg)
			}
			if tt.secret == "" {
				return
			}
			forms := []string{tt.secret, base64.StdEncoding.EncodeToString([]byte(tt.secret)), hex.EncodeToString([]byte(tt.secret))}
			if len(tt.secret) > 16 {
				forms = append(forms, tt.secret[6:16])
			}
			for _, f := range forms {
				if strings.Contains(msg, f) {
					t.Errorf("error holds a form of the input (%d bytes): %q", len(f), msg)
				}
			}
		})
	}
}

// TestSealWithholdsValueLikeNames: a lease whose names hold a value the
// caller's scanner does not know (an AWS secret access key as --vendor) is
// still withheld.
func TestSealWithholdsValueLikeNames(t *testing.T) {
	t.Parallel()
	aws := "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYa"
	none := func([]byte) []int { return nil }
	for _, l := range []Lease{
		{Vendor: aws, Environment: "ci", Outcome: OutcomeRefused},
		{Ref: "kv://openai/" + aws, Environment: "ci", Outcome: OutcomeRefused},
		{Vendor: "openai", Environment: "ci", Scope: []string{aws}, Outcome: OutcomeRefused},
	} {
		b, err := Seal(&Record{Leases: []Lease{l}}, nil, none)
		var le *LeakError
		if !errors.As(err, &le) || b != nil {
			t.Errorf("Seal of a lease holding a value = %d bytes, %v; want *LeakError", len(b), err)
		}
	}
	if _, err := Seal(&Record{Leases: []Lease{{Ref: "kv://openai/ci/api_key", Vendor: "openai", Environment: "ci", EnvVar: "OPENAI_API_KEY",
		Scope: []string{"llm:chat"}, Outcome: OutcomeRefused}}}, nil, none); err != nil {
		t.Errorf("Seal of a plain lease: %v", err)
	}
}
