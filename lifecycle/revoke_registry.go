package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
)

// registryEdit is one change to a registry entry, written in place or
// proposed as a pull request (the same path for rotate and revoke).
type registryEdit struct {
	Path, Vendor, Env string
	Set               map[string]any
	Shown             string // what the detail line says was set ("last_rotated: 2026-12-01")
	Mode              string // UpdatePR, UpdateWrite or UpdateNone
	Repo              githubapi.Repo
	RepoPath          string
	Branch            string
	Title, Message    string
	Body              string
}

// applyRegistry performs ed and returns the step's detail and the pull
// request's URL (pr mode). Nothing holding a value is pushed: the change is
// scanned by m first.
func applyRegistry(ctx context.Context, ed registryEdit, pr Proposer, m Masker) (detail, url string, err error) {
	if ed.Mode == UpdateNone || ed.Mode == "" {
		return "--registry-update none", "", nil
	}
	old, err := os.ReadFile(ed.Path)
	if err != nil {
		return "", "", fail(lease.ExitConfig, fmt.Errorf("read the registry %s: %w", ed.Path, err))
	}
	upd, err := registry.UpdateEntry(old, ed.Vendor, ed.Env, ed.Set)
	if err != nil {
		return "", "", fail(lease.ExitConfig, fmt.Errorf("update %s in %s: %w", ed.Shown, ed.Path, err))
	}
	switch ed.Mode {
	case UpdateWrite:
		if err := writeInPlace(ed.Path, upd); err != nil {
			return "", "", err
		}
		return ed.Shown + " written to " + ed.Path, "", nil
	case UpdatePR:
		if pr == nil {
			return "", "", fail(lease.ExitConfig, errors.New("--registry-update pr needs GITHUB_TOKEN and GITHUB_REPOSITORY"))
		}
		change := githubapi.FileChange{Branch: ed.Branch, Path: ed.RepoPath, Content: upd, Message: ed.Message, Title: ed.Title, Body: ed.Body}
		if m.Scan([]byte(change.Body+change.Title+change.Message)) > 0 || m.Scan(upd) > 0 {
			return "", "", fail(lease.ExitLeak, errors.New("the registry pull request would contain a secret value; nothing was pushed"))
		}
		p, err := pr.ProposeFile(ctx, ed.Repo, change)
		if err != nil {
			return "", "", err
		}
		return "pull request " + p.GetHTMLURL(), p.GetHTMLURL(), nil
	}
	return "", "", fail(lease.ExitConfig, fmt.Errorf("--registry-update %q: use pr, write or none", ed.Mode))
}
