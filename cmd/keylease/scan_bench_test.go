package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkScanTree runs the built keylease binary (and gitleaks v8's
// `dir`, when it is on PATH) over the tree in KEYLEASE_SCAN_TREE, whole
// process, on both cores and pinned to one (taskset), and reports per run:
//
//	MB/s        the tree's bytes over the wall time
//	s-wall/op   wall time, median of the runs (ns/op is the mean);
//	            s-wall-min/op the least
//	s-cpu/op    user + system time of the process, median; s-cpu-min/op
//
// Build the tree first (internal/tools/scantree):
//
//	go run ./internal/tools/scantree -out /tmp/scantree
//	KEYLEASE_SCAN_TREE=/tmp/scantree go test -run '^$' -bench ScanTree -benchtime 5x ./cmd/keylease
//
// The gitleaks cases take a minute a run: -bench 'ScanTree/keylease' skips
// them.
func BenchmarkScanTree(b *testing.B) {
	tree := os.Getenv("KEYLEASE_SCAN_TREE")
	if tree == "" {
		b.Skip("KEYLEASE_SCAN_TREE names no tree (go run ./internal/tools/scantree builds one)")
	}
	var size int64
	err := filepath.WalkDir(tree, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		size += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	taskset, _ := exec.LookPath("taskset")
	gitleaks, _ := exec.LookPath("gitleaks")
	scan := []string{keyleaseBin, "scan", "--ignore-file", os.DevNull, "--format", "json", tree}
	cases := []struct {
		name    string
		argv    []string
		oneCore bool
		want    int // exit code: both find the planted keys
	}{
		{"keylease/both-cores", scan, false, exitLeak},
		{"keylease/one-core", append([]string{keyleaseBin, "scan", "--jobs", "1"}, scan[2:]...), true, exitLeak},
		{"gitleaks/both-cores", []string{gitleaks, "dir", "--no-banner", tree}, false, 1},
		{"gitleaks/one-core", []string{gitleaks, "dir", "--no-banner", tree}, true, 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.argv[0] == "" {
				b.Skip("gitleaks is not on PATH (go install github.com/zricethezav/gitleaks/v8@latest)")
			}
			argv := c.argv
			if c.oneCore {
				if taskset == "" {
					b.Skip("taskset is not installed: no one-core run")
				}
				argv = append([]string{taskset, "-c", "0"}, argv...)
			}
			var wall, cpu []float64
			b.SetBytes(size)
			for b.Loop() {
				cmd := exec.Command(argv[0], argv[1:]...) //nolint:gosec // G204: the benchmark's own commands
				start := time.Now()
				err := cmd.Run()
				wall = append(wall, time.Since(start).Seconds())
				if code := cmd.ProcessState.ExitCode(); code != c.want {
					b.Fatalf("%s exited %d (%v), want %d", c.name, code, err, c.want)
				}
				cpu = append(cpu, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds())
			}
			b.ReportMetric(median(wall), "s-wall/op")
			b.ReportMetric(slices.Min(wall), "s-wall-min/op")
			b.ReportMetric(median(cpu), "s-cpu/op")
			b.ReportMetric(slices.Min(cpu), "s-cpu-min/op")
		})
	}
}
