package lease

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// fileGuard remembers the size of the runner's file commands before the
// child runs. Under no_persistence the child does not get their paths, but
// it could still find them; afterwards every byte it appended is scanned and
// the file is cut back to its old size if a leased form is in it. The job
// summary is guarded the same way: the child keeps its path (a summary of
// its own is fine) but not a value in it.
type fileGuard struct {
	files []guarded
}

type guarded struct {
	name, path string
	size       int64
}

func newFileGuard(getenv func(string) string) *fileGuard {
	g := &fileGuard{}
	for _, name := range guardedFiles() {
		p := getenv(name)
		if p == "" {
			continue
		}
		var size int64
		if fi, err := os.Stat(p); err == nil {
			size = fi.Size()
		}
		g.files = append(g.files, guarded{name: name, path: p, size: size})
	}
	return g
}

// check scans what was appended since newFileGuard and rolls it back when
// scan finds anything. It returns the names of the files it rolled back.
func (g *fileGuard) check(scan func([]byte) int) ([]string, error) {
	var rolled []string
	var errs []error
	for _, f := range g.files {
		b, err := readFrom(f.path, f.size)
		if err != nil {
			errs = append(errs, fmt.Errorf("check %s after the command: %w", f.name, err))
			continue
		}
		if len(b) == 0 || scan(b) == 0 {
			clear(b)
			continue
		}
		clear(b)
		if err := os.Truncate(f.path, f.size); err != nil {
			errs = append(errs, fmt.Errorf("roll back %s: %w; remove the leased value from %s by hand", f.name, err, f.path))
			continue
		}
		rolled = append(rolled, f.name)
	}
	return rolled, errors.Join(errs...)
}

// stepSummary is the job summary's file command.
const stepSummary = "GITHUB_STEP_SUMMARY"

// guardedFiles are the file commands checked after the child: those it
// does not get under no_persistence, and the job summary.
func guardedFiles() []string {
	return append(slices.Clone(persistence), stepSummary)
}

func readFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // the runner's file command path
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
