package runscan_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/runscan"
)

// TestScanRunsCapIsUnreached: GitHub lists at most 1,000 runs for a query
// with a created filter, whatever total_count says; a window with that
// many is reported unreached (the older runs were never listed), not
// scanned clean.
func TestScanRunsCapIsUnreached(t *testing.T) {
	t.Parallel()
	f, err := githubfake.Start("", token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	r := f.AddRepo("acme", "busy", "main")
	f.Lock()
	for i := range runscan.MaxListedRuns {
		r.Runs = append(r.Runs, int64(1000+i))
	}
	f.Unlock()
	c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	res, err := runscan.Scan(context.Background(), c, githubapi.Repo{Owner: "acme", Name: "busy"}, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), sc.Scan)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != runscan.MaxListedRuns || len(res.Unreached) != 1 || !strings.Contains(res.Unreached[0], "1000 runs") {
		t.Fatalf("runs %d, unreached %q; want the 1000-run cap reported unreached", res.Runs, res.Unreached)
	}
	b, _ := json.Marshal(res)
	leakcheck.Assert(t, "result", b, token)
}
