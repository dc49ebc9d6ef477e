package lease

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

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
