package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/keylease/keylease/auditreport"
	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/runscan"
	"github.com/keylease/keylease/scansource"
)

// repos audits each repository, Concurrency at a time.
func (a *Auditor) repos(ctx context.Context, repos []AuditRepo) {
	n := a.Concurrency
	if n <= 0 {
		n = 4
	}
	work := make(chan AuditRepo)
	var wg sync.WaitGroup
	for range min(n, max(len(repos), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				a.repo(ctx, r)
			}
		}()
	}
	for _, r := range repos {
		a.mu.Lock()
		a.rep.Repos = append(a.rep.Repos, r.String())
		a.mu.Unlock()
		work <- r
	}
	close(work)
	wg.Wait()
}

func (a *Auditor) repo(ctx context.Context, r AuditRepo) {
	a.workflows(ctx, r)
	a.repoSecrets(ctx, r)
	a.runs(ctx, r)
}

// workflows runs keylease check's workflow lint on the repository's
// workflows and keeps the two rules the audit reports: revoked refs, and
// secrets of a vendor-key name (or the whole secrets context) handed to a
// step that is not keylease.
func (a *Auditor) workflows(ctx context.Context, r AuditRepo) {
	files, err := a.GitHub.WorkflowFiles(ctx, r.Repo)
	if err != nil {
		a.unreached(r.String()+" workflows", err)
		return
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		for _, pr := range registry.CheckWorkflow(p, files[p], a.Config) {
			if pr.Rule != registry.RuleSecretExposed && pr.Rule != registry.RuleRevokedRef {
				continue
			}
			if pr.Rule == registry.RuleSecretExposed && !slices.ContainsFunc(pr.Secrets, func(n string) bool { return n == "*" || a.vendorKeyName(n) }) {
				continue // not a vendor key: keylease check reports it, the audit does not
			}
			a.add(auditreport.Finding{ID: pr.Rule, Subject: fmt.Sprintf("%s:%s:%d", r, p, pr.Line), Repo: r.String(),
				File: p, Line: pr.Line, Column: pr.Column, Detail: pr.Msg})
		}
	}
}

// denied: the token may not list secrets (GitHub answers 403 "Resource
// not accessible by integration" to a GITHUB_TOKEN).
func denied(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden
}

func (a *Auditor) denySecrets() {
	a.mu.Lock()
	a.secretsDenied = true
	a.mu.Unlock()
}

func (a *Auditor) secretsAllowed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.secretsDenied
}

func (a *Auditor) orgSecrets(ctx context.Context, org string) {
	if !a.secretsAllowed() {
		return
	}
	names, err := a.GitHub.OrgSecretNames(ctx, org)
	if denied(err) {
		a.denySecrets()
		return
	}
	if err != nil {
		a.unreached(org+" organization secrets", err)
		return
	}
	a.secretFindings("organization "+org, "", names)
}

func (a *Auditor) repoSecrets(ctx context.Context, r AuditRepo) {
	if !a.secretsAllowed() {
		return
	}
	names, err := a.GitHub.RepoSecretNames(ctx, r.Repo)
	if denied(err) {
		a.denySecrets()
		return
	}
	if err != nil {
		a.unreached(r.String()+" secrets", err)
		return
	}
	a.secretFindings("repository "+r.String(), r.String(), names)
	envs, err := a.GitHub.Environments(ctx, r.Repo)
	if err != nil {
		a.unreached(r.String()+" environments", err)
		return
	}
	if len(envs) > 0 && r.ID == 0 {
		if r.ID, err = a.GitHub.RepoID(ctx, r.Repo); err != nil {
			a.unreached(r.String()+" environments", err)
			return
		}
	}
	for _, env := range envs {
		names, err := a.GitHub.EnvSecretNames(ctx, int(r.ID), env)
		if denied(err) {
			a.denySecrets()
			return
		}
		if err != nil {
			a.unreached(r.String()+" environment "+env+" secrets", err)
			continue
		}
		a.secretFindings("environment "+env+" of "+r.String(), r.String(), names)
	}
}

func (a *Auditor) secretFindings(where, repo string, names []string) {
	for _, n := range names {
		if a.vendorKeyName(n) {
			a.add(auditreport.Finding{ID: auditreport.VendorKeyInGitHub, Subject: where + " secret " + n, Repo: repo,
				Detail: "an Actions secret with a vendor-key name: a long-lived key outside keylease"})
		}
	}
}

// vendorKeyName: a secret named for a vendor key (OPENAI_API_KEY,
// ANTHROPIC_ADMIN_KEY, XAI_TOKEN, or any registry vendor's variable).
func (a *Auditor) vendorKeyName(name string) bool {
	u := strings.ToUpper(name)
	words := strings.FieldsFunc(u, func(c rune) bool { return c == '_' || c == '-' })
	vendor, cred := false, false
	for _, w := range words {
		switch w {
		case "OPENAI", "ANTHROPIC", "CLAUDE", "XAI", "GROK":
			vendor = true
		case "KEY", "TOKEN", "SECRET", "APIKEY":
			cred = true
		}
	}
	if vendor && cred {
		return true
	}
	if a.Config != nil {
		for _, e := range a.Config.Registry.Entries() {
			if u == registry.EnvVarFor(e.Vendor) {
				return true
			}
		}
	}
	return false
}

// runs scans the job logs and artifacts of the runs created since Since.
func (a *Auditor) runs(ctx context.Context, r AuditRepo) {
	since := ""
	if a.Since > 0 {
		since = a.Now().UTC().Add(-a.Since).Format(time.DateOnly)
	}
	runs, err := a.GitHub.Runs(ctx, r.Repo, since)
	if err != nil {
		a.unreached(r.String()+" workflow runs", err)
		return
	}
	if since != "" && len(runs) >= runscan.MaxListedRuns {
		a.unreached(r.String()+" workflow runs", fmt.Errorf("GitHub lists at most %d runs for a created filter and listed %d runs, so older ones in the window were not scanned: audit a shorter window (--since)", runscan.MaxListedRuns, len(runs)))
	}
	for _, run := range runs {
		id := run.GetID()
		jobs, err := a.GitHub.Jobs(ctx, r.Repo, id)
		if err != nil {
			a.unreached(fmt.Sprintf("%s run %d jobs", r, id), err)
		}
		for _, j := range jobs {
			log, err := a.GitHub.JobLog(ctx, r.Repo, j.GetID())
			if err != nil {
				a.unreached(fmt.Sprintf("%s run %d job %d log", r, id, j.GetID()), err)
				continue
			}
			a.scan(auditreport.LeakInLogs, fmt.Sprintf("%s run %d job %d log", r, id, j.GetID()), r.String(), log)
		}
		arts, err := a.GitHub.Artifacts(ctx, r.Repo, id)
		if err != nil {
			a.unreached(fmt.Sprintf("%s run %d artifacts", r, id), err)
			continue
		}
		for _, art := range arts {
			if art.GetExpired() {
				continue
			}
			files, err := a.GitHub.ArtifactFiles(ctx, r.Repo, art.GetID())
			if err != nil {
				a.unreached(fmt.Sprintf("%s run %d artifact %d", r, id, art.GetID()), err)
				continue
			}
			for _, n := range slices.Sorted(maps.Keys(files)) {
				// A zip in the artifact is opened, as incident's run scan
				// opens it: its compressed bytes hide a key.
				err := scansource.Expand(scansource.Item{Path: n, Data: files[n]}, scansource.DefaultLimits, func(it scansource.Item) error {
					a.scan(auditreport.LeakInArtifacts, fmt.Sprintf("%s run %d artifact %d file %s", r, id, art.GetID(), it.Path), r.String(), it.Data)
					return nil
				})
				if err != nil {
					a.unreached(fmt.Sprintf("%s run %d artifact %d file %s", r, id, art.GetID(), n), err)
				}
			}
		}
	}
}

// scan reports each detector's first hit in b by line, never the text.
func (a *Auditor) scan(id, subject, repo string, b []byte) {
	if a.Scanner == nil {
		return
	}
	seen := map[string]bool{}
	var lines *scansource.LineCounter // built at the first hit: most logs have none
	for _, f := range a.Scanner.Scan(b) {
		what := f.Detector
		if f.Ref != "" {
			what += " (" + f.Ref + ")"
		}
		if seen[what] {
			continue
		}
		seen[what] = true
		if lines == nil {
			lines = scansource.NewLineCounter(b)
		}
		line, _ := lines.At(int(f.Offset))
		a.add(auditreport.Finding{ID: id, Subject: subject, Repo: repo,
			Detail: fmt.Sprintf("%s at line %d; revoke the key now, then delete the run's logs or artifact", what, line)})
	}
}

// Shard reports whether full ("owner/name") falls in shard i of n (1-based):
// FNV-1a of the lower-cased name, so every shard agrees without talking.
func Shard(full string, i, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.ToLower(full)))
	return i >= 1 && h.Sum64()%uint64(n) == uint64(i-1)
}

var _ AuditGitHub = (*githubapi.Client)(nil)
