package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/keylease/keylease/detect"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/scanreport"
	"github.com/keylease/keylease/scansource"
)

func init() {
	register(&command{name: "scan", summary: "scan files, zip archives, git history or a run record for vendor keys and fingerprinted values", run: runScan})
}

const scanUsage = "Usage: keylease scan [--record F | --git [DIR] | PATHS...] [--format text|json|sarif] [--baseline F] [--exclude PATTERN]... [--fingerprints F] [--policy F] [--jobs N]"

// scanAdvice is what every finding's message tells the reader to do.
const scanAdvice = "revoke the key at its vendor now, rotate a replacement into Secrets Manager, and mark the registry entry revoked: true (a fake key in a test belongs in .keyleaseignore)"

// loadFingerprints reads SL8's ops-only list: "<sha256 hex> <length> <ref>"
// or "<sha256 hex> <ref>" per line, '#' comments. The file holds digests,
// never values.
func loadFingerprints(path string) (masking.FingerprintList, error) {
	f, err := os.Open(path) //nolint:gosec // the operator names the file
	if err != nil {
		return masking.FingerprintList{}, usageError("--fingerprints %s: %v", shownPath(path), err)
	}
	defer func() { _ = f.Close() }() // read-only
	l, err := masking.ParseFingerprints(f)
	if err != nil {
		return l, usageError("--fingerprints %s: %v", shownPath(path), err)
	}
	return l, nil
}

// maxJobs bounds --jobs: more goroutines than cores gain nothing once the
// disk is the limit.
const maxJobs = 1024

// maxInMemory is the largest plain file read whole; larger ones stream.
const maxInMemory = 64 << 20

type scanFlags struct {
	record, fingerprints, policy, format, baseline, ignoreFile string
	git                                                        bool
	excludes                                                   listFlag
	jobs                                                       int
}

func runScan(ctx context.Context, args []string, e *env) error {
	fset := flag.NewFlagSet("scan", flag.ContinueOnError)
	var f scanFlags
	fset.StringVar(&f.record, "record", "", "verify the run record `file` (strict schema, then scan)")
	fset.StringVar(&f.fingerprints, "fingerprints", "", "`file` of '<sha256 hex> [<length>] <ref>' lines (SL8 ops-only fingerprints) to look for")
	fset.StringVar(&f.policy, "policy", "", "policy `file` whose required_prefix adds detectors (default configs/secrets-policy.json when it exists)")
	fset.StringVar(&f.format, "format", "text", "report `format`: text, json or sarif (on stdout)")
	fset.StringVar(&f.baseline, "baseline", "", "a previous json or sarif report `file`: its findings (by location and detector) are suppressed")
	fset.BoolVar(&f.git, "git", false, "scan every blob reachable in the history of the git repository at DIR (default .)")
	fset.Var(&f.excludes, "exclude", "gitignore-style `pattern` of paths not to scan (repeatable)")
	fset.StringVar(&f.ignoreFile, "ignore-file", ".keyleaseignore", "`file` of gitignore-style patterns not to scan (a missing file is none)")
	fset.IntVar(&f.jobs, "jobs", runtime.GOMAXPROCS(0), "files scanned at once")
	if err := parseFlags(fset, args, e, scanUsage); err != nil {
		return err
	}
	paths := fset.Args()
	switch {
	case f.record != "" && (len(paths) > 0 || f.git):
		return usageError("scan takes --record FILE, --git [DIR] or PATHS, one of them")
	case f.record == "" && !f.git && len(paths) == 0:
		return usageError("scan needs --record FILE, --git [DIR] or PATHS")
	case f.git && len(paths) > 1:
		return usageError("scan --git takes one repository directory")
	case f.format != "text" && f.format != "json" && f.format != "sarif":
		return usageError("--format %s: want text, json or sarif", shownValue("--format", f.format))
	case f.jobs < 1 || f.jobs > maxJobs:
		// Each goroutine holds a directory buffer and a file buffer: a
		// million of them is tens of gigabytes before one file is read.
		return usageError("--jobs %d: want 1 to %d", f.jobs, maxJobs)
	}
	// AWS's documented example ids fill SDK tests and docs; gitleaks
	// allow-lists them too. Everything else credential-shaped is reported.
	opts := masking.ScanOptions{Detectors: true, SkipExamples: true}
	if f.fingerprints != "" {
		l, err := loadFingerprints(f.fingerprints)
		if err != nil {
			return err
		}
		opts.Fingerprints, opts.FingerprintLengths = l.Sums, l.Lengths
	}
	pp := f.policy
	if pp == "" {
		if _, err := os.Stat("configs/secrets-policy.json"); err == nil {
			pp = "configs/secrets-policy.json"
		}
	}
	if pp != "" {
		p, err := loadPolicyPrefixes(pp)
		if err != nil {
			return err
		}
		opts.Prefixes = p
	}
	var base scanreport.Baseline
	if f.baseline != "" {
		b, err := os.ReadFile(f.baseline)
		if err != nil {
			return usageError("--baseline %s: %v", shownPath(f.baseline), err)
		}
		if base, err = scanreport.ParseBaseline(b); err != nil {
			return usageError("--baseline %s: %v; pass a report keylease scan wrote with --format json or sarif", shownPath(f.baseline), err)
		}
	}
	patterns, err := scansource.ReadIgnoreFile(f.ignoreFile)
	if err != nil {
		return usageError("--ignore-file: %v", err)
	}
	s := &scanRun{sc: masking.NewScanner(opts), ex: scansource.NewExcluder(append(patterns, f.excludes...)), jobs: f.jobs}
	switch {
	case f.record != "":
		err = s.record(f.record)
	case f.git:
		dir := "."
		if len(paths) == 1 {
			dir = paths[0]
		}
		err = s.gitHistory(ctx, dir)
	default:
		err = s.paths(paths)
	}
	if err != nil {
		return err
	}
	rep := &scanreport.Report{Tool: "keylease scan", Version: version, Rules: scanRules(opts.Prefixes), Advice: scanAdvice}
	scanreport.Sort(s.found)
	rep.Findings, rep.Suppressed = base.Filter(s.found)
	return writeScanReport(e, rep, f.format)
}

func writeScanReport(e *env, rep *scanreport.Report, format string) error {
	var err error
	switch format {
	case "json":
		err = rep.WriteJSON(e.stdout)
	case "sarif":
		err = rep.WriteSARIF(e.stdout)
	default:
		err = rep.WriteText(e.stdout, shownPath)
	}
	if err != nil {
		return fmt.Errorf("scan: write the report: %w", err)
	}
	if format != "text" {
		fmt.Fprintln(e.stderr, "keylease: "+rep.Summary())
	}
	if e.getenv("GITHUB_ACTIONS") == "true" {
		// The runner reads workflow commands on either stream; a json or
		// sarif report on stdout stays parseable.
		ann := e.stdout
		if format != "text" {
			ann = e.stderr
		}
		for _, f := range rep.Findings {
			props := fmt.Sprintf("file=%s,line=%d,col=%d,title=keylease scan", escapeProperty(f.Path), f.Line, f.Column)
			fmt.Fprintf(ann, "::error %s::%s\n", props, annotationData("credential found by detector "+f.Rule))
		}
	}
	if len(rep.Findings) > 0 {
		return &exitError{code: exitLeak, err: fmt.Errorf("scan found %d secret(s) (%d suppressed by the baseline); %s", len(rep.Findings), rep.Suppressed, scanAdvice)}
	}
	return nil
}

// scanRules is the SARIF rule table: every detector that ran.
func scanRules(prefixes map[string]string) []scanreport.Rule {
	var rules []scanreport.Rule
	seen := map[string]bool{}
	for _, r := range detect.WithPolicy(prefixes) {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		rules = append(rules, scanreport.Rule{ID: r.ID, Help: fmt.Sprintf("A credential in the shape %s issues (%s) is in the scanned content. Revoke it at %s now, rotate a replacement into Secrets Manager and mark the registry entry revoked: true; then remove it from the file (and from history with git filter-repo if it was committed). A fake key a test holds on purpose belongs in .keyleaseignore.", r.Vendor, r.ID, r.Vendor)})
	}
	rules = append(rules, scanreport.Rule{ID: "fingerprint", Help: "A value whose sha256 is in the ops-only fingerprint list (a leaked or revoked secret) is in the scanned content. Make sure it is revoked, then remove it."})
	sortRules(rules)
	return rules
}

type scanRun struct {
	sc    *masking.Scanner
	ex    *scansource.Excluder
	jobs  int
	mu    sync.Mutex
	found []scanreport.Finding
}

func (s *scanRun) add(commit, path string, data []byte, fs []masking.Finding) {
	if len(fs) == 0 {
		return
	}
	out := make([]scanreport.Finding, 0, len(fs))
	lc := scansource.NewLineCounter(data)
	for _, f := range fs {
		line, col := lc.At(int(f.Offset))
		// A path is anyone's text: key-shaped parts of it are not shown.
		out = append(out, scanreport.Finding{Commit: commit, Path: guard().Text(path), Line: line, Column: col, Rule: f.Detector, Ref: guard().Text(f.Ref)})
	}
	s.mu.Lock()
	s.found = append(s.found, out...)
	s.mu.Unlock()
}

func (s *scanRun) record(path string) error {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return usageError("--record %s: %v", shownPath(path), err)
	}
	defer clear(b)
	if _, err := record.Decode(b); err != nil {
		return &exitError{code: exitLeak, err: fmt.Errorf("--record %s: %w; a record keylease did not write (or that was altered) is not verified", shownPath(path), err)}
	}
	s.add("", path, b, s.sc.Scan(b))
	return nil
}

// item scans one piece of content, opening zip archives.
func (s *scanRun) item(it scansource.Item) error {
	return scansource.Expand(it, scansource.DefaultLimits, func(z scansource.Item) error {
		s.add(z.Commit, z.Path, z.Data, s.sc.Scan(z.Data))
		return nil
	})
}

// pool runs work on s.jobs goroutines; the first error stops it.
type pool struct {
	work chan func() error
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

func newPool(n int) *pool {
	p := &pool{work: make(chan func() error, n)}
	for range n {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for w := range p.work {
				if err := w(); err != nil {
					p.mu.Lock()
					if p.err == nil {
						p.err = err
					}
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

func (p *pool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pool) wait() error {
	close(p.work)
	p.wg.Wait()
	return p.err
}

// paths scans every regular file under roots not excluded; s.jobs
// goroutines walk and scan at once.
func (s *scanRun) paths(roots []string) error {
	for _, root := range roots {
		if err := scansource.Walk(root, s.ex, s.jobs, s.batch); err != nil {
			return scanPathError(root, err)
		}
	}
	return nil
}

func (s *scanRun) batch(b *scansource.Batch) error {
	for i := range b.Names {
		if err := s.file(b, i); err != nil {
			return err
		}
	}
	return nil
}

func scanPathError(root string, err error) error {
	if errors.Is(err, scansource.ErrZipBomb) {
		return &exitError{code: exitLeak, err: fmt.Errorf("scan: %w; a refused archive is not scanned, so it is not known to be clean", err)}
	}
	if root == "" {
		return usageError("scan: %v", err)
	}
	return usageError("scan %s: %v", shownPath(root), err)
}

// bufPool holds read buffers: a tree of small files is read without an
// allocation (and a collection) per file.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

// file scans file i of b: whole in memory up to maxInMemory (and always
// for a zip archive, which needs random access), streamed beyond.
func (s *scanRun) file(b *scansource.Batch, i int) error {
	zipped := scansource.IsZip(b.Names[i])
	limit := int64(maxInMemory)
	if zipped {
		limit = scansource.DefaultLimits.TotalBytes
	}
	path := b.Path(i)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	data, big, err := b.Read(i, (*bp)[:0], limit)
	*bp = data[:0]
	switch {
	case err != nil:
		return err
	case big && zipped:
		return fmt.Errorf("zip %s: more than %d bytes: %w", shownPath(path), scansource.DefaultLimits.TotalBytes, scansource.ErrZipBomb)
	case big:
		// Opened as Read opened it, not by path: a link or a FIFO put in
		// the file's place since is refused, not followed or waited on.
		f, err := b.Open(i)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read-only: a close error loses nothing
		return s.largeFile(path, f)
	}
	return s.item(scansource.Item{Path: path, Data: data})
}

func (s *scanRun) largeFile(path string, f io.ReadSeeker) error {
	fs, err := s.sc.ScanReader(f)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return nil
	}
	// Findings are rare: the file is read once more, streamed, to turn
	// offsets into lines.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", shownPath(path), err)
	}
	pos, err := linesOf(f, fs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range fs {
		s.found = append(s.found, scanreport.Finding{Path: guard().Text(path), Line: pos[i][0], Column: pos[i][1], Rule: f.Detector, Ref: guard().Text(f.Ref)})
	}
	return nil
}

func (s *scanRun) gitHistory(ctx context.Context, dir string) error {
	p := newPool(s.jobs)
	skipped, err := scansource.Git(ctx, dir, maxInMemory, func(it scansource.Item) error {
		if s.ex.Excluded(it.Path, false) {
			return nil
		}
		if err := p.failed(); err != nil {
			return err
		}
		p.work <- func() error { return s.item(it) }
		return nil
	})
	werr := p.wait()
	if err == nil {
		err = werr
	}
	if err != nil {
		return scanPathError(dir, err)
	}
	if skipped > 0 {
		return usageError("scan --git %s: %d blob(s) larger than %d bytes were not scanned; check them out and scan them as files", shownPath(dir), skipped, maxInMemory)
	}
	return nil
}

// linesOf streams the file once to find the line and column of each
// finding (in offset order, as Scan returns them).
func linesOf(f io.Reader, fs []masking.Finding) ([][2]int, error) {
	out := make([][2]int, len(fs))
	buf := make([]byte, 1<<20)
	line, col, k := 1, 1, 0
	var off int64
	for k < len(fs) {
		n, err := f.Read(buf)
		for i := 0; i < n && k < len(fs); i++ {
			for k < len(fs) && fs[k].Offset == off+int64(i) {
				out[k] = [2]int{line, col}
				k++
			}
			switch c := buf[i]; {
			case c == '\n':
				line, col = line+1, 1
			case c < 0x80 || c >= 0xC0: // a code point starts here
				col++
			}
		}
		off += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loadPolicyPrefixes reads only the policy (the registry is not needed to scan).
func loadPolicyPrefixes(path string) (map[string]string, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, usageError("--policy %s: %v", shownPath(path), err)
	}
	var p struct {
		RequiredPrefix map[string]string `json:"required_prefix"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, usageError("--policy %s: not JSON (%v); run keylease check", shownPath(path), err)
	}
	return p.RequiredPrefix, nil
}
