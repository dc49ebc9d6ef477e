package githubapi

import (
	"github.com/keylease/keylease/scansource"

	"github.com/keylease/keylease/transport"

	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Repo names a repository.
type Repo struct{ Owner, Name string }

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// FileChange is one file update proposed as a pull request.
type FileChange struct {
	Branch  string // head branch, created from the default branch if absent
	Path    string
	Content []byte // the file's new bytes
	Message string // commit message
	Title   string // PR title
	Body    string // PR body
}

// ProposeFile puts change on its branch and opens a pull request into the
// default branch, or reuses (and retitles) the open one from the same head.
// Rerunning it with the same change is a no-op apart from reads.
func (c *Client) ProposeFile(ctx context.Context, r Repo, change FileChange) (*github.PullRequest, error) {
	repo, _, err := retry(ctx, c, "get repository "+r.String(), func() (*github.Repository, *github.Response, error) {
		return c.GH.Repositories.Get(ctx, r.Owner, r.Name)
	})
	if err != nil {
		return nil, err
	}
	base := repo.GetDefaultBranch()
	if err := c.ensureBranch(ctx, r, change.Branch, base); err != nil {
		return nil, err
	}
	if err := c.putFile(ctx, r, change); err != nil {
		return nil, err
	}
	open, err := listAll(ctx, c, "list pull requests", func(opt github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
		return c.GH.PullRequests.List(ctx, r.Owner, r.Name, &github.PullRequestListOptions{State: "open", Head: r.Owner + ":" + change.Branch, ListOptions: opt})
	})
	if err != nil {
		return nil, err
	}
	for _, pr := range open {
		if pr.GetHead().GetRef() != change.Branch {
			continue
		}
		if pr.GetTitle() == change.Title && pr.GetBody() == change.Body {
			return pr, nil
		}
		edited, _, err := retry(ctx, c, "update pull request", func() (*github.PullRequest, *github.Response, error) {
			return c.GH.PullRequests.Edit(ctx, r.Owner, r.Name, pr.GetNumber(), &github.PullRequest{Title: &change.Title, Body: &change.Body})
		})
		return edited, err
	}
	pr, _, err := retry(ctx, c, "create pull request", func() (*github.PullRequest, *github.Response, error) {
		return c.GH.PullRequests.Create(ctx, r.Owner, r.Name, &github.NewPullRequest{Title: &change.Title, Head: &change.Branch, Base: &base, Body: &change.Body})
	})
	return pr, err
}

func (c *Client) ensureBranch(ctx context.Context, r Repo, branch, base string) error {
	_, _, err := retry(ctx, c, "get ref heads/"+branch, func() (*github.Reference, *github.Response, error) {
		return c.GH.Git.GetRef(ctx, r.Owner, r.Name, "heads/"+branch)
	})
	if err == nil || !isStatus(err, http.StatusNotFound) {
		return err
	}
	baseRef, _, err := retry(ctx, c, "get ref heads/"+base, func() (*github.Reference, *github.Response, error) {
		return c.GH.Git.GetRef(ctx, r.Owner, r.Name, "heads/"+base)
	})
	if err != nil {
		return err
	}
	ref := "refs/heads/" + branch
	_, _, err = retry(ctx, c, "create ref "+ref, func() (*github.Reference, *github.Response, error) {
		return c.GH.Git.CreateRef(ctx, r.Owner, r.Name, &github.Reference{Ref: &ref, Object: &github.GitObject{SHA: baseRef.GetObject().SHA}})
	})
	if isStatus(err, http.StatusUnprocessableEntity) { // created by a concurrent run
		return nil
	}
	return err
}

func (c *Client) putFile(ctx context.Context, r Repo, ch FileChange) error {
	cur, _, resp, err := c.GH.Repositories.GetContents(ctx, r.Owner, r.Name, ch.Path, &github.RepositoryContentGetOptions{Ref: ch.Branch})
	if err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
		return wrap("get contents "+ch.Path, err)
	}
	opts := &github.RepositoryContentFileOptions{Message: &ch.Message, Content: ch.Content, Branch: &ch.Branch}
	if cur != nil {
		old, derr := cur.GetContent()
		if derr == nil && old == string(ch.Content) {
			return nil // already there: no empty commit
		}
		opts.SHA = cur.SHA
	}
	_, _, err = retry(ctx, c, "update file "+ch.Path, func() (*github.RepositoryContentResponse, *github.Response, error) {
		return c.GH.Repositories.UpdateFile(ctx, r.Owner, r.Name, ch.Path, opts)
	})
	return err
}

func isStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}

// IssueState is what UpsertIssue should leave: open with a title and body,
// or closed.
type IssueState struct {
	Label string
	Title string
	Body  string
	Close bool // close the open issue (if any) instead of writing one
}

// UpsertIssue keeps one open issue carrying label: creates it, updates its
// title/body, or closes it. Pull requests, which the issues list also
// returns, are skipped. It returns the issue touched, or nil.
func (c *Client) UpsertIssue(ctx context.Context, r Repo, s IssueState) (*github.Issue, error) {
	list, err := listAll(ctx, c, "list issues", func(opt github.ListOptions) ([]*github.Issue, *github.Response, error) {
		return c.GH.Issues.ListByRepo(ctx, r.Owner, r.Name, &github.IssueListByRepoOptions{State: "open", Labels: []string{s.Label}, ListOptions: opt})
	})
	if err != nil {
		return nil, err
	}
	var found *github.Issue
	for _, is := range list {
		if !is.IsPullRequest() {
			found = is
			break
		}
	}
	switch {
	case found == nil && s.Close:
		return nil, nil
	case found == nil:
		labels := []string{s.Label}
		is, _, err := retry(ctx, c, "create issue", func() (*github.Issue, *github.Response, error) {
			return c.GH.Issues.Create(ctx, r.Owner, r.Name, &github.IssueRequest{Title: &s.Title, Body: &s.Body, Labels: &labels})
		})
		return is, err
	}
	req := &github.IssueRequest{Title: &s.Title, Body: &s.Body}
	if s.Close {
		closed := "closed"
		req = &github.IssueRequest{State: &closed}
	}
	is, _, err := retry(ctx, c, "edit issue", func() (*github.Issue, *github.Response, error) {
		return c.GH.Issues.Edit(ctx, r.Owner, r.Name, found.GetNumber(), req)
	})
	return is, err
}

// RepoSecretNames lists the names of a repository's Actions secrets.
func (c *Client) RepoSecretNames(ctx context.Context, r Repo) ([]string, error) {
	return c.secretNames(ctx, "list repository secrets", func(opt github.ListOptions) (*github.Secrets, *github.Response, error) {
		return c.GH.Actions.ListRepoSecrets(ctx, r.Owner, r.Name, &opt)
	})
}

// OrgSecretNames lists the names of an organization's Actions secrets.
func (c *Client) OrgSecretNames(ctx context.Context, org string) ([]string, error) {
	return c.secretNames(ctx, "list organization secrets", func(opt github.ListOptions) (*github.Secrets, *github.Response, error) {
		return c.GH.Actions.ListOrgSecrets(ctx, org, &opt)
	})
}

// EnvSecretNames lists the names of an environment's secrets.
func (c *Client) EnvSecretNames(ctx context.Context, repoID int, env string) ([]string, error) {
	return c.secretNames(ctx, "list environment secrets", func(opt github.ListOptions) (*github.Secrets, *github.Response, error) {
		return c.GH.Actions.ListEnvSecrets(ctx, repoID, env, &opt)
	})
}

func (c *Client) secretNames(ctx context.Context, op string, f func(github.ListOptions) (*github.Secrets, *github.Response, error)) ([]string, error) {
	ss, err := listAll(ctx, c, op, func(opt github.ListOptions) ([]*github.Secret, *github.Response, error) {
		s, resp, err := f(opt)
		if s == nil {
			return nil, resp, err
		}
		return s.Secrets, resp, err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ss))
	for _, s := range ss {
		names = append(names, s.Name)
	}
	return names, nil
}

// OrgRepos lists an organization's repositories.
func (c *Client) OrgRepos(ctx context.Context, org string) ([]*github.Repository, error) {
	return listAll(ctx, c, "list organization repositories", func(opt github.ListOptions) ([]*github.Repository, *github.Response, error) {
		return c.GH.Repositories.ListByOrg(ctx, org, &github.RepositoryListByOrgOptions{ListOptions: opt})
	})
}

// Runs lists workflow runs created on or after since (a YYYY-MM-DD date; "" for all).
func (c *Client) Runs(ctx context.Context, r Repo, since string) ([]*github.WorkflowRun, error) {
	created := ""
	if since != "" {
		created = ">=" + since
	}
	return listAll(ctx, c, "list workflow runs", func(opt github.ListOptions) ([]*github.WorkflowRun, *github.Response, error) {
		runs, resp, err := c.GH.Actions.ListRepositoryWorkflowRuns(ctx, r.Owner, r.Name, &github.ListWorkflowRunsOptions{Created: created, ListOptions: opt})
		if runs == nil {
			return nil, resp, err
		}
		return runs.WorkflowRuns, resp, err
	})
}

// Jobs lists the jobs of a run.
func (c *Client) Jobs(ctx context.Context, r Repo, runID int64) ([]*github.WorkflowJob, error) {
	return listAll(ctx, c, "list workflow jobs", func(opt github.ListOptions) ([]*github.WorkflowJob, *github.Response, error) {
		// Every attempt's jobs: GitHub lists only the latest attempt's by
		// default, and a re-run usually follows a failed attempt whose log
		// may hold what leaked.
		jobs, resp, err := c.GH.Actions.ListWorkflowJobs(ctx, r.Owner, r.Name, runID, &github.ListWorkflowJobsOptions{Filter: "all", ListOptions: opt})
		if jobs == nil {
			return nil, resp, err
		}
		return jobs.Jobs, resp, err
	})
}

// Artifacts lists the artifacts of a run.
func (c *Client) Artifacts(ctx context.Context, r Repo, runID int64) ([]*github.Artifact, error) {
	return listAll(ctx, c, "list run artifacts", func(opt github.ListOptions) ([]*github.Artifact, *github.Response, error) {
		a, resp, err := c.GH.Actions.ListWorkflowRunArtifacts(ctx, r.Owner, r.Name, runID, &opt)
		if a == nil {
			return nil, resp, err
		}
		return a.Artifacts, resp, err
	})
}

// JobLog downloads a job's log through GitHub's 302.
func (c *Client) JobLog(ctx context.Context, r Repo, jobID int64) ([]byte, error) {
	u, _, err := c.GH.Actions.GetWorkflowJobLogs(ctx, r.Owner, r.Name, jobID, 1)
	if err != nil {
		return nil, wrap(fmt.Sprintf("get job %d logs", jobID), err)
	}
	return c.download(ctx, "job log", u)
}

// ArtifactFiles downloads an artifact and returns its files (name -> bytes),
// the zip read in memory, the whole capped by Options.MaxDownload.
func (c *Client) ArtifactFiles(ctx context.Context, r Repo, artifactID int64) (map[string][]byte, error) {
	u, _, err := c.GH.Actions.DownloadArtifact(ctx, r.Owner, r.Name, artifactID, 1)
	if err != nil {
		return nil, wrap(fmt.Sprintf("download artifact %d", artifactID), err)
	}
	b, err := c.download(ctx, "artifact", u)
	if err != nil {
		return nil, err
	}
	// One zip reader for the whole project: entry count, per-entry and
	// total caps counted on what is actually decompressed.
	prefix := fmt.Sprintf("artifact-%d", artifactID)
	files := map[string][]byte{}
	lim := scansource.Limits{Entries: scansource.DefaultLimits.Entries, EntryBytes: c.maxDownload, TotalBytes: c.maxDownload}
	n := 0
	err = scansource.Zip(prefix, b, lim, func(it scansource.Item) error {
		n++
		base := strings.TrimPrefix(it.Path, prefix+"!")
		name := base
		// A zip may repeat a name: the earlier entry is kept, not
		// overwritten unscanned.
		for k := n; ; k++ {
			if _, dup := files[name]; !dup {
				break
			}
			name = fmt.Sprintf("%s (entry %d)", base, k)
		}
		files[name] = it.Data
		return nil
	})
	if errors.Is(err, scansource.ErrZipBomb) {
		return nil, fmt.Errorf("github artifact %d: %w (unzipped)", artifactID, ErrDownloadTooLarge)
	}
	if err != nil {
		return nil, fmt.Errorf("github artifact %d: not a readable zip archive", artifactID)
	}
	return files, nil
}

// ErrDownloadTooLarge is returned when a download is over Options.MaxDownload.
var ErrDownloadTooLarge = errors.New("download is over the size cap (Options.MaxDownload)")

// download fetches the short-lived URL with no Authorization header.
func (c *Client) download(ctx context.Context, what string, u *url.URL) ([]byte, error) {
	if u == nil {
		return nil, fmt.Errorf("github %s: no redirect location", what)
	}
	req, err := http.NewRequestWithContext(asDownload(ctx), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("github %s: %w", what, redactURL(err))
	}
	resp, err := c.dl.Do(req)
	if err != nil {
		return nil, downloadError(what, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("github %s download: http %d", what, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxDownload+1))
	if err != nil {
		return nil, downloadError(what, err)
	}
	if int64(len(b)) > c.maxDownload {
		return nil, fmt.Errorf("github %s: %w", what, ErrDownloadTooLarge)
	}
	return b, nil
}

// downloadError names a download's failure; the bounded transport's body
// cap is the same limit as MaxDownload, so it reads as ErrDownloadTooLarge.
func downloadError(what string, err error) error {
	var le *transport.BodyLimitError
	if errors.As(err, &le) {
		return fmt.Errorf("github %s: %w", what, ErrDownloadTooLarge)
	}
	return fmt.Errorf("github %s download: %w", what, redactURL(err))
}

// redactURL drops the signed URL's query (its signature is a credential)
// from a transport error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
			return &url.Error{Op: ue.Op, URL: ue.URL[:i] + "?[redacted]", Err: ue.Err}
		}
	}
	return err
}
