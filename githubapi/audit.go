package githubapi

import (
	"context"
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

// maxWorkflows bounds the files read from one repository's WorkflowDir.
const maxWorkflows = 200

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
	out := map[string][]byte{}
	for _, f := range dir {
		p := f.GetPath()
		ext := strings.ToLower(path.Ext(p))
		if f.GetType() != "file" || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		if len(out) >= maxWorkflows {
			break
		}
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
