// Package runscan looks for a value in a repository's recent GitHub
// Actions runs: every job's log and every artifact's files, downloaded
// through githubapi (the 302 URLs, size-capped, zips read in memory) and
// scanned with a masking scanner. Findings say where (run, job or
// artifact, file, line), never what.
package runscan

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/scansource"
)

// Kinds of Finding.
const (
	KindLog      = "log"
	KindArtifact = "artifact"
)

// Finding is one match: where it is and which detector matched.
type Finding struct {
	Kind       string `json:"kind"`
	RunID      int64  `json:"run_id"`
	JobID      int64  `json:"job_id,omitempty"`
	ArtifactID int64  `json:"artifact_id,omitempty"`
	Name       string `json:"name"` // the job's name, or the artifact's file
	Line       int    `json:"line"`
	Column     int    `json:"column"`
	Rule       string `json:"rule"`
}

// Result is what a scan saw: counts, findings, and what it could not read
// (never counted as clean).
type Result struct {
	Runs      int       `json:"runs"`
	Logs      int       `json:"logs"`
	Artifacts int       `json:"artifacts"`
	Findings  []Finding `json:"findings"`
	Unreached []string  `json:"unreached,omitempty"`
}

// MaxListedRuns is the most runs GitHub lists for a query with a created
// filter (its documented cap, whatever total_count says).
const MaxListedRuns = 1000

// Scan reads every run of r created on or after since (day resolution, as
// GitHub's created filter has it) and scans each job log and artifact with
// scan. Only failing to list the runs is an error; a log or artifact that
// cannot be read is listed in Unreached.
func Scan(ctx context.Context, c *githubapi.Client, r githubapi.Repo, since time.Time, scan func([]byte) []masking.Finding) (*Result, error) {
	runs, err := c.Runs(ctx, r, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("list the runs of %s: %w", r, err)
	}
	res := &Result{Runs: len(runs), Findings: []Finding{}}
	if len(runs) >= MaxListedRuns {
		res.Unreached = append(res.Unreached, fmt.Sprintf("runs of %s: GitHub lists at most %d runs for a created filter and listed %d runs, so older ones in the window were not scanned: scan a shorter window (--since)", r, MaxListedRuns, len(runs)))
	}
	for _, run := range runs {
		id := run.GetID()
		jobs, err := c.Jobs(ctx, r, id)
		if err != nil {
			res.Unreached = append(res.Unreached, fmt.Sprintf("run %d jobs: %v", id, err))
		}
		for _, j := range jobs {
			log, err := c.JobLog(ctx, r, j.GetID())
			if err != nil {
				res.Unreached = append(res.Unreached, fmt.Sprintf("run %d job %d log: %v", id, j.GetID(), err))
				continue
			}
			res.Logs++
			res.add(Finding{Kind: KindLog, RunID: id, JobID: j.GetID(), Name: j.GetName()}, log, scan(log))
			clear(log)
		}
		arts, err := c.Artifacts(ctx, r, id)
		if err != nil {
			res.Unreached = append(res.Unreached, fmt.Sprintf("run %d artifacts: %v", id, err))
		}
		for _, a := range arts {
			files, err := c.ArtifactFiles(ctx, r, a.GetID())
			if err != nil {
				res.Unreached = append(res.Unreached, fmt.Sprintf("run %d artifact %d: %v", id, a.GetID(), err))
				continue
			}
			res.Artifacts++
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				err := scansource.Expand(scansource.Item{Path: a.GetName() + "/" + n, Data: files[n]}, scansource.DefaultLimits, func(it scansource.Item) error {
					res.add(Finding{Kind: KindArtifact, RunID: id, ArtifactID: a.GetID(), Name: it.Path}, it.Data, scan(it.Data))
					return nil
				})
				if err != nil {
					res.Unreached = append(res.Unreached, fmt.Sprintf("run %d artifact %d: %v", id, a.GetID(), err))
				}
				clear(files[n])
			}
		}
	}
	return res, nil
}

func (res *Result) add(where Finding, data []byte, fs []masking.Finding) {
	if len(fs) == 0 {
		return
	}
	lc := scansource.NewLineCounter(data)
	for _, f := range fs {
		h := where
		h.Line, h.Column = lc.At(int(f.Offset))
		h.Rule = f.Detector
		res.Findings = append(res.Findings, h)
	}
}
