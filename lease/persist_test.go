package lease

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

func testScan(t *testing.T) func([]byte) int {
	t.Helper()
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(testKey)); err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Set: set})
	return func(b []byte) int { return len(sc.Scan(b)) }
}

// TestFileGuardStepSummary: a leased value the child appends to the job
// summary is rolled back like one in GITHUB_ENV; the child's own clean
// summary lines stay.
func TestFileGuardStepSummary(t *testing.T) {
	t.Parallel()
	scan := testScan(t)
	for _, tt := range []struct {
		name, appended string
		rolled         bool
	}{
		{"clean summary kept", "## tests\n\n42 passed\n", false},
		{"value rolled back", "## debug\n\nkey: `" + testKey + "`\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "summary.md")
			if err := os.WriteFile(path, []byte("# before\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			g := newFileGuard(func(k string) string {
				if k == "GITHUB_STEP_SUMMARY" {
					return path
				}
				return ""
			})
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tt.appended); err != nil {
				t.Fatal(err)
			}
			_ = f.Close()
			rolled, err := g.check(scan)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := "# before\n" + tt.appended
			if tt.rolled {
				want = "# before\n"
				if !slices.Equal(rolled, []string{"GITHUB_STEP_SUMMARY"}) {
					t.Errorf("rolled back %v, want GITHUB_STEP_SUMMARY", rolled)
				}
			} else if len(rolled) != 0 {
				t.Errorf("rolled back %v, want nothing", rolled)
			}
			if string(b) != want {
				t.Errorf("summary after check: %d bytes, want %d", len(b), len(want))
			}
			noForm(t, "summary after check", b)
		})
	}
}

// otherKey is a vendor key this run did not lease: only a detector finds it.
var otherKey = "sk-ant-api03-" + strings.Repeat("Zq3x", 23) + "AbAA" // #nosec G101 -- made up

func commandScan(t *testing.T) func([]byte) int {
	t.Helper()
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(testKey)); err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Set: set, Detectors: true})
	if len(sc.Scan([]byte(otherKey))) == 0 {
		t.Fatal("the vendor detectors do not recognise the test's other key")
	}
	return func(b []byte) int { return len(sc.Scan(b)) }
}

// escapeData is @actions/core's escapeData, written out independently.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// TestCommandGuard: a persisting workflow command that carries a value form
// (the value, its command escape, a vendor key) is dropped and refused; other
// commands and ordinary lines pass byte for byte, whether written at once or
// a byte at a time.
func TestCommandGuard(t *testing.T) {
	t.Parallel()
	scan := commandScan(t)
	tests := []struct {
		name, in, out string
		refused       []string
	}{
		{"escaped value in set-output", "a\n::set-output name=k::" + escapeData(testKey+"%\n") + "\nb\n", "a\n::set-output \nb\n", []string{"set-output"}},
		{"raw value in save-state", "::save-state name=s::" + testKey + "\n", "::save-state \n", []string{"save-state"}},
		{"vendor key in set-env", "::set-env name=K::" + otherKey + "\r", "::set-env \r", []string{"set-env"}},
		{"value as property", "::set-output name=" + testKey + "::x\n", "::set-output \n", []string{"set-output"}},
		{"add-path", "::add-path::/tmp/" + testKey + "\n", "::add-path:\n", []string{"add-path"}},
		{"leading white space and case", " \t\u00a0::SET-OUTPUT name=k::" + testKey + "\n", " \t\u00a0::SET-OUTPUT \n", []string{"set-output"}},
		{"legacy form mid-line", "note ##[set-output name=k;]" + testKey + "\nnext\n", "note ##[set-output \nnext\n", []string{"set-output"}},
		{"last line without a break", "::set-output name=k::" + testKey, "::set-output ", []string{"set-output"}},
		{"clean set-output passes", "::set-output name=k::hello world\n", "::set-output name=k::hello world\n", nil},
		{"other command with a value passes to the redactor", "::debug::" + testKey + "\n", "::debug::" + testKey + "\n", nil},
		{"ordinary line with a value passes to the redactor", "x ::set-output name=k::" + testKey + "\n", "x ::set-output name=k::" + testKey + "\n", nil},
		{"two commands, one refused", "::set-output name=a::1\n::set-output name=b::" + testKey + "\n::set-output name=c::3\n",
			"::set-output name=a::1\n::set-output \n::set-output name=c::3\n", []string{"set-output"}},
		{"no line break after the name", "::set-outputs::" + testKey + "\n", "::set-outputs::" + testKey + "\n", nil},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			var out bytes.Buffer
			g := newCommandGuard(&out, scan)
			if split {
				for i := range len(tt.in) {
					if n, err := g.Write([]byte{tt.in[i]}); n != 1 || err != nil {
						t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
					}
				}
			} else if n, err := g.Write([]byte(tt.in)); n != len(tt.in) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.out {
				t.Errorf("%s (split %v): passed %q, want %q", tt.name, split, masking.OneLine(leakFree(got)), masking.OneLine(leakFree(tt.out)))
			}
			if got := g.Refused(); !slices.Equal(got, tt.refused) {
				t.Errorf("%s (split %v): refused %v, want %v", tt.name, split, got, tt.refused)
			}
			if len(tt.refused) > 0 {
				noForm(t, tt.name, out.Bytes())
				leakcheck.Assert(t, tt.name, out.Bytes(), otherKey)
			}
		}
	}
}

// leakFree keeps test failure messages value-free.
func leakFree(s string) string {
	return strings.NewReplacer(testKey, "<testKey>", otherKey, "<otherKey>").Replace(s)
}

// TestCommandGuardBeforeRedactor is the chain lease builds: child -> guard
// -> redactor -> runner. The refused line never reaches the runner; a form
// in an ordinary line is still masked by the redactor.
func TestCommandGuardBeforeRedactor(t *testing.T) {
	t.Parallel()
	set := masking.NewSet(masking.Options{})
	if err := set.Add(secret.FromString(testKey)); err != nil {
		t.Fatal(err)
	}
	var runner bytes.Buffer
	red := set.NewRedactor(&runner)
	g := newCommandGuard(red, commandScan(t))
	in := "log " + testKey + "\n::set-output name=k::" + escapeData(testKey) + "\n::set-output name=ok::fine\n"
	if _, err := g.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(g.Close(), red.Close()); err != nil {
		t.Fatal(err)
	}
	if want := "log ***\n::set-output \n::set-output name=ok::fine\n"; runner.String() != want {
		t.Errorf("runner got %q, want %q", leakFree(runner.String()), want)
	}
	if !slices.Equal(g.Refused(), []string{"set-output"}) {
		t.Errorf("refused %v", g.Refused())
	}
	noForm(t, "runner's input", runner.Bytes())
}

// TestCommandGuardTooLong: a persisting command longer than the guard holds
// is dropped and refused unchecked; the next line passes.
func TestCommandGuardTooLong(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	g := newCommandGuard(&out, commandScan(t))
	if _, err := g.Write([]byte("::set-output name=big::")); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range maxHeldCommand>>20 + 1 {
		if _, err := g.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Write([]byte("\nafter\n")); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "::set-output \nafter\n" {
		t.Errorf("passed %d bytes, want the name, the line break and the next line", len(got))
	}
	if got := g.Refused(); !slices.Equal(got, []string{"set-output (too long to check)"}) {
		t.Errorf("refused %v", got)
	}
}

// TestCommandGuardPassThrough: output without a persisting command passes
// byte for byte under any split of the writes, and nothing is refused.
func TestCommandGuardPassThrough(t *testing.T) {
	t.Parallel()
	scan := commandScan(t)
	r := rand.New(rand.NewPCG(8, 8)) // #nosec G404 -- deterministic on purpose
	alphabet := []byte(":#[] \t\r\nsetoupvdbg-x\xc2\xa0\xff")
	for range 300 {
		in := make([]byte, r.IntN(200))
		for i := range in {
			in[i] = alphabet[r.IntN(len(alphabet))]
		}
		var out bytes.Buffer
		g := newCommandGuard(&out, scan)
		for rest := in; len(rest) > 0; {
			n := min(1+r.IntN(9), len(rest))
			if _, err := g.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("input %q passed as %q", in, out.Bytes())
		}
		if len(g.Refused()) != 0 {
			t.Fatalf("input %q: refused %v", in, g.Refused())
		}
	}
}

// BenchmarkCommandGuard: 64 KiB writes of log lines (with '#' and "::"
// but no persisting command) through the guard, which under no_persistence
// runs in front of each redactor.
func BenchmarkCommandGuard(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 64<<10 {
		buf.WriteString("INFO request completed status=200 path=/v1/chat # note\n::debug::retrying\n  ok PASS\n")
	}
	data := buf.Bytes()[:64<<10]
	g := newCommandGuard(io.Discard, func([]byte) int { return 0 })
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := g.Write(data); err != nil {
			b.Fatal(err)
		}
	}
}
