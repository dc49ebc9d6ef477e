package githubapi

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/google/go-github/v60/github"
)

// RepoID is a repository's numeric id (environment secrets are listed by it).
func (c *Client) RepoID(ctx context.Context, r Repo) (int64, error) {
	repo, _, err := retry(ctx, c, "get repository "+r.String(), func() (*github.Repository, *github.Response, error) {
		return c.GH.Repositories.Get(ctx, r.Owner, r.Name)
	})
	if err != nil {
		return 0, err
	}
	return repo.GetID(), nil
}

// Environments lists the names of a repository's deployment environments.
func (c *Client) Environments(ctx context.Context, r Repo) ([]string, error) {
	envs, err := listAll(ctx, c, "list environments", func(opt github.ListOptions) ([]*github.Environment, *github.Response, error) {
		e, resp, err := c.GH.Repositories.ListEnvironments(ctx, r.Owner, r.Name, &github.EnvironmentListOptions{ListOptions: opt})
		if e == nil {
			return nil, resp, err
		}
		return e.Environments, resp, err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(envs))
	for _, e := range envs {
		names = append(names, e.GetName())
	}
	return names, nil
}

// WorkflowDir is where GitHub Actions reads a repository's workflows.
const WorkflowDir = ".github/workflows"

// MaxWorkflows bounds the files read from one repository's WorkflowDir; a
// directory with more is an error, not a partial read taken for the whole.
const MaxWorkflows = 200

// WorkflowFiles reads the .yml and .yaml files of WorkflowDir on the
// default branch (path -> bytes); a repository without the directory has
// none.
func (c *Client) WorkflowFiles(ctx context.Context, r Repo) (map[string][]byte, error) {
	dir, _, err := retry(ctx, c, "get contents "+WorkflowDir, func() ([]*github.RepositoryContent, *github.Response, error) {
		_, d, resp, err := c.GH.Repositories.GetContents(ctx, r.Owner, r.Name, WorkflowDir, nil)
		return d, resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	var wanted []*github.RepositoryContent
	for _, f := range dir {
		ext := strings.ToLower(path.Ext(f.GetPath()))
		if f.GetType() == "file" && (ext == ".yml" || ext == ".yaml") {
			wanted = append(wanted, f)
		}
	}
	if len(wanted) > MaxWorkflows {
		return nil, fmt.Errorf("github %s of %s: %d workflow files, more than the %d read: none is checked rather than some", WorkflowDir, r, len(wanted), MaxWorkflows)
	}
	out := map[string][]byte{}
	for _, f := range wanted {
		p := f.GetPath()
		fc, _, err := retry(ctx, c, "get contents "+p, func() (*github.RepositoryContent, *github.Response, error) {
			f, _, resp, err := c.GH.Repositories.GetContents(ctx, r.Owner, r.Name, p, nil)
			return f, resp, err
		})
		if err != nil {
			return nil, err
		}
		s, err := fc.GetContent()
		if err != nil {
			return nil, wrap("decode contents "+p, err)
		}
		out[p] = []byte(s)
	}
	return out, nil
}
