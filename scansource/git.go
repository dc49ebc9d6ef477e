package scansource

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// blobRef is where a blob first appears.
type blobRef struct{ sha, commit, path string }

// Git calls emit for every blob reachable from any ref of the repository
// at dir, each once, with the commit and path where it first appears
// (commits oldest first, parents before children). It runs the git CLI,
// which every runner has: rev-list and diff-tree find the blobs, one
// cat-file --batch streams them. Blobs larger than maxBlob are skipped and
// counted in skipped.
func Git(ctx context.Context, dir string, maxBlob int64, emit func(Item) error) (skipped int, err error) {
	blobs, err := gitBlobs(ctx, dir)
	if err != nil {
		return 0, err
	}
	return catBlobs(ctx, dir, blobs, maxBlob, emit)
}

func gitCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	// safe.directory is left alone: git's own ownership check stays in force.
	return exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...) // #nosec G204 -- fixed subcommands; dir is the operator's
}

// gitBlobs lists each blob once at its first commit and path: diff-tree
// over every commit in topological order (-m: merges against each parent,
// --root: a root commit's whole tree), so a blob in any commit's tree shows
// up at the first commit that added it at some path.
func gitBlobs(ctx context.Context, dir string) ([]blobRef, error) {
	revs := gitCmd(ctx, dir, "rev-list", "--all", "--topo-order", "--reverse")
	var revErr bytes.Buffer
	revs.Stderr = &revErr
	revOut, err := revs.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("git rev-list: %w", err)
	}
	diff := gitCmd(ctx, dir, "diff-tree", "--stdin", "-r", "-m", "--root", "-z", "--no-renames")
	diff.Stdin = revOut
	var diffErr bytes.Buffer
	diff.Stderr = &diffErr
	diffOut, err := diff.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("git diff-tree: %w", err)
	}
	if err := revs.Start(); err != nil {
		return nil, fmt.Errorf("git rev-list in %s: %w (is git installed?)", dir, err)
	}
	if err := diff.Start(); err != nil {
		_ = revs.Wait()
		return nil, fmt.Errorf("git diff-tree in %s: %w", dir, err)
	}
	seen := map[string]bool{}
	var out []blobRef
	r := bufio.NewReaderSize(diffOut, 64<<10)
	commit := ""
	var parseErr error
	for {
		tok, err := r.ReadString(0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			parseErr = err
			break
		}
		tok = strings.TrimSuffix(tok, "\x00")
		if !strings.HasPrefix(tok, ":") {
			commit, _, _ = strings.Cut(tok, " ") // "<sha>" or "<sha> (from <parent>)"
			continue
		}
		path, err := r.ReadString(0)
		if err != nil {
			parseErr = fmt.Errorf("diff-tree output ends inside an entry")
			break
		}
		path = strings.TrimSuffix(path, "\x00")
		// ":<old mode> <new mode> <old sha> <new sha> <status>"
		f := strings.Fields(tok[1:])
		if len(f) != 5 || f[4] == "D" || !strings.HasPrefix(f[1], "10") && f[1] != "120000" {
			continue // a deletion, a submodule (160000) or a tree
		}
		if sha := f[3]; !seen[sha] {
			seen[sha] = true
			out = append(out, blobRef{sha: sha, commit: commit, path: path})
		}
	}
	_, _ = io.Copy(io.Discard, r)
	derr := diff.Wait()
	rerr := revs.Wait()
	switch {
	case rerr != nil:
		return nil, fmt.Errorf("git rev-list --all in %s: %w: %s", dir, rerr, firstLine(revErr.String()))
	case derr != nil:
		return nil, fmt.Errorf("git diff-tree in %s: %w: %s", dir, derr, firstLine(diffErr.String()))
	case parseErr != nil:
		return nil, fmt.Errorf("git diff-tree in %s: %w", dir, parseErr)
	}
	return out, nil
}

// catBlobs streams the blobs' contents through one git cat-file --batch.
func catBlobs(ctx context.Context, dir string, blobs []blobRef, maxBlob int64, emit func(Item) error) (skipped int, err error) {
	if len(blobs) == 0 {
		return 0, nil
	}
	cat := gitCmd(ctx, dir, "cat-file", "--batch")
	in, err := cat.StdinPipe()
	if err != nil {
		return 0, fmt.Errorf("git cat-file: %w", err)
	}
	outp, err := cat.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("git cat-file: %w", err)
	}
	var catErr bytes.Buffer
	cat.Stderr = &catErr
	if err := cat.Start(); err != nil {
		return 0, fmt.Errorf("git cat-file in %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		w := bufio.NewWriter(in)
		for _, b := range blobs {
			if ctx.Err() != nil {
				break
			}
			if _, err := w.WriteString(b.sha + "\n"); err != nil {
				break
			}
		}
		_ = w.Flush()
		_ = in.Close()
	}()
	r := bufio.NewReaderSize(outp, 256<<10)
	var loopErr error
	for _, b := range blobs {
		hdr, err := r.ReadString('\n')
		if err != nil {
			loopErr = fmt.Errorf("git cat-file: output ends early: %w", err)
			break
		}
		// "<sha> blob <size>"
		f := strings.Fields(hdr)
		if len(f) != 3 || f[1] != "blob" {
			loopErr = fmt.Errorf("git cat-file: object %s is not a blob", b.sha)
			break
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			loopErr = fmt.Errorf("git cat-file: object %s has no size", b.sha)
			break
		}
		if size > maxBlob {
			skipped++
			if _, err := io.CopyN(io.Discard, r, size+1); err != nil {
				loopErr = fmt.Errorf("git cat-file: %w", err)
				break
			}
			continue
		}
		data := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(r, data); err != nil {
			loopErr = fmt.Errorf("git cat-file: blob %s cut short: %w", b.sha, err)
			break
		}
		if err := emit(Item{Commit: b.commit, Path: b.path, Data: data[:size]}); err != nil {
			loopErr = err
			break
		}
	}
	cancel()
	_, _ = io.Copy(io.Discard, r)
	werr := cat.Wait()
	if loopErr != nil {
		return skipped, loopErr
	}
	if werr != nil {
		return skipped, fmt.Errorf("git cat-file in %s: %w: %s", dir, werr, firstLine(catErr.String()))
	}
	return skipped, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
