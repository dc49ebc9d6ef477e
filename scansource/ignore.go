package scansource

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ignore "github.com/sabhiram/go-gitignore"
)

// Excluder matches paths against gitignore-style patterns.
//
// github.com/sabhiram/go-gitignore does the matching: a single file with no
// dependencies that implements gitignore's rules (globs, "**", "dir/",
// "!negation", anchoring on "/"). go-git's gitignore package is as good a
// matcher but brings go-git and go-billy into the module for one function.
type Excluder struct {
	m *ignore.GitIgnore
	n int
}

// NewExcluder compiles patterns (lines of a .keyleaseignore, --exclude).
func NewExcluder(patterns []string) *Excluder {
	var keep []string
	for _, p := range patterns {
		if t := strings.TrimSpace(p); t != "" && !strings.HasPrefix(t, "#") {
			keep = append(keep, p)
		}
	}
	return &Excluder{m: ignore.CompileIgnoreLines(keep...), n: len(keep)}
}

// ReadIgnoreFile returns the lines of a .keyleaseignore file; a missing
// file is no patterns.
func ReadIgnoreFile(path string) ([]string, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the operator names the file
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ignore file %s: %w", path, err)
	}
	return strings.Split(string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), "\n"), nil
}

// active reports whether x excludes anything at all: a walk then need not
// build relative paths.
func (x *Excluder) active() bool { return x != nil && x.n > 0 }

// Excluded reports whether rel (a slash- or OS-separated path relative to
// the scanned root) is excluded; a directory is matched with a trailing
// slash so "dir/" patterns apply.
func (x *Excluder) Excluded(rel string, isDir bool) bool {
	if x == nil || x.n == 0 {
		return false
	}
	rel = filepath.ToSlash(rel)
	if isDir {
		rel += "/"
	}
	return x.m.MatchesPath(rel)
}
