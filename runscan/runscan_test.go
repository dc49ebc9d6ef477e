package runscan_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/runscan"
)

const token = "ghs_runscanTestToken0123456789abcdefABCDEF"

// startGitHub starts a GitHub fake that accepts token and a client of it.
func startGitHub(t *testing.T) (*githubfake.Server, *githubapi.Client) {
	t.Helper()
	f, err := githubfake.Start("", token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	c, err := githubapi.New(githubapi.Options{Getenv: func(k string) string {
		return map[string]string{"GITHUB_API_URL": f.APIURL(), "GITHUB_TOKEN": token}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, s := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(s))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestScanFindsTheValueByFingerprint: the value is in one job's log and in
// one artifact's file; the scanner holds only its sha256. The findings name
// the run, the job or artifact, the file and the line; a missing log is
// reported unreached, not clean; nothing in the result holds the value.
func TestScanFindsTheValueByFingerprint(t *testing.T) {
	t.Parallel()
	f, c := startGitHub(t)
	value := "sk-proj-" + "Zq8wLm3Rt6Yx1Cv4Bn7Mk0Pa2Sd5Fg9H" + "T3BlbkFJ" + "Jk1Lq2Wx3Ec4Rv5Tb6Yn7Um8Io9Pa0Sd"
	r := f.AddRepo("acme", "app", "main")
	f.Lock()
	r.Runs = []int64{7, 8}
	r.Jobs[7] = []int64{70, 71}
	r.Jobs[8] = []int64{80}
	r.Logs[70] = []byte("2026-12-01T00:00:00Z step one\n2026-12-01T00:00:01Z OPENAI_API_KEY=" + value + "\n")
	r.Logs[71] = []byte("clean\n")
	// job 80 has no log: unreached
	r.RunArtifacts[8] = []int64{800}
	r.Artifacts[800] = zipOf(t, map[string]string{"out/debug.txt": "a\nb\nkey: " + value + "\n", "ok.txt": "fine"})
	f.Unlock()
	sum := sha256.Sum256([]byte(value))
	sc := masking.NewScanner(masking.ScanOptions{Fingerprints: map[string]string{hex.EncodeToString(sum[:]): "openai.ci"}, FingerprintLengths: []int{len(value)}})
	res, err := runscan.Scan(context.Background(), c, githubapi.Repo{Owner: "acme", Name: "app"}, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), sc.Scan)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 2 || res.Logs != 2 || res.Artifacts != 1 || len(res.Unreached) != 1 {
		t.Fatalf("result %+v", res)
	}
	want := []runscan.Finding{
		{Kind: runscan.KindLog, RunID: 7, JobID: 70, Name: "job-70", Line: 2, Column: 37, Rule: "fingerprint"},
		{Kind: runscan.KindArtifact, RunID: 8, ArtifactID: 800, Name: "artifact-800/out/debug.txt", Line: 3, Column: 6, Rule: "fingerprint"},
	}
	if len(res.Findings) != len(want) {
		t.Fatalf("findings %+v", res.Findings)
	}
	for i := range want {
		if res.Findings[i] != want[i] {
			t.Errorf("finding %d = %+v, want %+v", i, res.Findings[i], want[i])
		}
	}
	b, _ := json.Marshal(res)
	leakcheck.Assert(t, "result", b, value)
	leakcheck.Assert(t, "result", b, token)
}
