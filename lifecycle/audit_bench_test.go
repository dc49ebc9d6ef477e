package lifecycle

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/githubfake"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/scansource"
)

// BenchmarkAuditCleanRepos: requests per clean repository (no runs to
// scan) and wall time for an org of 1,000 against the emulator without
// limits.
func BenchmarkAuditCleanRepos(b *testing.B) {
	gh, err := githubfake.Start("", ghToken)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gh.Close() })
	const n = 1000
	for i := range n {
		r := gh.AddRepo("acme", fmt.Sprintf("r%04d", i), "main")
		gh.Lock()
		r.Files["main"][".github/workflows/ci.yml"] = []byte("name: ci\non: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n")
		gh.Unlock()
	}
	clock := &fakeClock{t: time.Now()}
	b.ResetTimer()
	for range b.N {
		gh.Faults.ResetCounts()
		rep, _ := orgAudit(b, gh, clock, time.Time{}, 4, nil)
		if len(rep.Repos) != n || len(rep.Unreached) != 0 || len(rep.Findings) != 0 {
			b.Fatalf("repos %d unreached %d findings %d", len(rep.Repos), len(rep.Unreached), len(rep.Findings))
		}
		total := 0
		for _, c := range gh.Faults.Counts() {
			total += c
		}
		b.ReportMetric(float64(total-n/100)/n, "requests/repo") // less the org listing's pages
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1000repos")
}

// BenchmarkAuditArtifactScan: one run's artifact (a 32 MiB log-like file
// in a zip) downloaded through the 302, unzipped in memory and scanned
// with the detectors and a fingerprint list: bytes/s is the unzipped size.
func BenchmarkAuditArtifactScan(b *testing.B) {
	w := newAuditWorld(b)
	var text bytes.Buffer
	line := "2026-12-01T10:00:00.1234567Z ##[group]Run go test ./... -race -count=1 ok github.com/acme/app/internal/pkg 0.123s\n"
	for text.Len() < 32<<20 {
		text.WriteString(line)
	}
	z := zipOf(b, map[string]string{"logs/test.txt": text.String()})
	w.gh.Lock()
	repo := w.gh.RepoState("acme", "app")
	repo.Runs = []int64{7}
	repo.Jobs = map[int64][]int64{}
	repo.RunArtifacts[7] = []int64{72}
	repo.Artifacts[72] = z
	repo.Files["main"][".github/workflows/ci.yml"] = []byte("name: ci\non: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n")
	repo.Secrets = nil
	w.gh.Unlock()
	write(b, w.reg, auditRegistry[:strings.Index(auditRegistry, "  ci:")])
	o := w.options()
	o.Outputs = AuditOutputs{}
	b.SetBytes(int64(text.Len()))
	b.ResetTimer()
	for range b.N {
		rep, _, err := w.audit(o)
		if err != nil || len(rep.Findings) != 0 || len(rep.Unreached) != 0 {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}

// BenchmarkAuditZipScan: the zip read in memory and the scan alone (no
// download, no session): the audit's per-core scan throughput.
func BenchmarkAuditZipScan(b *testing.B) {
	var text bytes.Buffer
	line := "2026-12-01T10:00:00.1234567Z ##[group]Run go test ./... -race -count=1 ok github.com/acme/app/internal/pkg 0.123s\n"
	for text.Len() < 32<<20 {
		text.WriteString(line)
	}
	z := zipOf(b, map[string]string{"logs/test.txt": text.String()})
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true, Prefixes: map[string]string{"openai": "sk-"}})
	a := &Auditor{Scanner: sc, Mask: nopMask{sc}}
	a.rep = &auditreport.Report{}
	lim := scansource.Limits{Entries: scansource.DefaultLimits.Entries, EntryBytes: githubapi.DefaultMaxDownload, TotalBytes: githubapi.DefaultMaxDownload}
	b.SetBytes(int64(text.Len()))
	b.ResetTimer()
	for range b.N {
		err := scansource.Zip("artifact-1", z, lim, func(it scansource.Item) error {
			a.scan(auditreport.LeakInArtifacts, it.Path, "acme/app", it.Data)
			return nil
		})
		if err != nil || len(a.rep.Findings) != 0 {
			b.Fatal(err, a.rep.Findings)
		}
	}
}
