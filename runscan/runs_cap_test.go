package runscan_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/githubapi"
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
	f, c := startGitHub(t)
	r := f.AddRepo("acme", "busy", "main")
	f.Lock()
	for i := range runscan.MaxListedRuns {
		r.Runs = append(r.Runs, int64(1000+i))
	}
	f.Unlock()
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

// TestScanReadsEarlierAttempts: a run re-run keeps its earlier attempts'
// jobs and logs; GitHub lists only the latest attempt's jobs unless asked
// for all, so a value in a failed first attempt's log (the usual reason to
// re-run) is found too.
func TestScanReadsEarlierAttempts(t *testing.T) {
	t.Parallel()
	f, c := startGitHub(t)
	value := "sk-proj-" + "Zq8wLm3Rt6Yx1Cv4Bn7Mk0Pa2Sd5Fg9H" + "T3BlbkFJ" + "Jk1Lq2Wx3Ec4Rv5Tb6Yn7Um8Io9Pa0Sd"
	r := f.AddRepo("acme", "app", "main")
	f.Lock()
	r.Runs = []int64{7}
	r.EarlierJobs[7] = []int64{69}
	r.Jobs[7] = []int64{70}
	r.Logs[69] = []byte("attempt 1: OPENAI_API_KEY=" + value + "\n")
	r.Logs[70] = []byte("attempt 2: clean\n")
	f.Unlock()
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	res, err := runscan.Scan(context.Background(), c, githubapi.Repo{Owner: "acme", Name: "app"}, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), sc.Scan)
	if err != nil {
		t.Fatal(err)
	}
	if res.Logs != 2 || len(res.Findings) != 1 || res.Findings[0].JobID != 69 {
		t.Fatalf("logs %d, findings %+v; want both attempts' logs read and the first attempt's value found", res.Logs, res.Findings)
	}
	b, _ := json.Marshal(res)
	leakcheck.Assert(t, "result", b, value)
	leakcheck.Assert(t, "result", b, token)
}
