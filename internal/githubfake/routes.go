package githubfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type handler func(w http.ResponseWriter, r *http.Request)

// route maps a method and path segments to an operation and its handler.
func (s *Server) route(method string, p []string) (string, handler) {
	n := len(p)
	switch {
	case n >= 3 && p[0] == "orgs" && p[2] == "repos" && n == 3 && method == http.MethodGet:
		return OpListOrgRepos, func(w http.ResponseWriter, r *http.Request) { s.orgRepos(w, r, p[1]) }
	case n == 4 && p[0] == "orgs" && p[2] == "actions" && p[3] == "secrets" && method == http.MethodGet:
		return OpListSecrets, func(w http.ResponseWriter, r *http.Request) { s.secretList(w, r, s.orgSec[p[1]]) }
	case n == 5 && p[0] == "repositories" && p[2] == "environments" && p[4] == "secrets" && method == http.MethodGet:
		return OpListSecrets, func(w http.ResponseWriter, r *http.Request) {
			id, _ := strconv.ParseInt(p[1], 10, 64)
			for _, repo := range s.repos {
				if repo.ID == id {
					s.secretList(w, r, repo.Envs[p[3]])
					return
				}
			}
			s.errorJSON(w, http.StatusNotFound, "Not Found")
		}
	case n < 3 || p[0] != "repos":
		return "", nil
	}
	key := p[1] + "/" + p[2]
	rest := p[3:]
	with := func(f func(w http.ResponseWriter, r *http.Request, repo *Repo)) handler {
		return func(w http.ResponseWriter, r *http.Request) {
			repo := s.repos[key]
			if repo == nil {
				s.errorJSON(w, http.StatusNotFound, "Not Found")
				return
			}
			f(w, r, repo)
		}
	}
	m := method
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		return OpGetRepo, with(s.getRepo)
	case len(rest) >= 3 && rest[0] == "git" && rest[1] == "ref" && rest[2] == "heads" && m == http.MethodGet:
		return OpGetRef, with(func(w http.ResponseWriter, _ *http.Request, repo *Repo) {
			s.getRef(w, repo, strings.Join(rest[3:], "/"))
		})
	case len(rest) == 2 && rest[0] == "git" && rest[1] == "refs" && m == http.MethodPost:
		return OpCreateRef, with(s.createRef)
	case len(rest) >= 2 && rest[0] == "contents" && m == http.MethodGet:
		return OpGetContents, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) {
			s.getContents(w, r, repo, strings.Join(rest[1:], "/"))
		})
	case len(rest) >= 2 && rest[0] == "contents" && m == http.MethodPut:
		return OpUpdateFile, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) {
			s.putContents(w, r, repo, strings.Join(rest[1:], "/"))
		})
	case len(rest) == 1 && rest[0] == "environments" && m == http.MethodGet:
		return OpListEnvironments, with(s.listEnvironments)
	case len(rest) == 1 && rest[0] == "pulls" && m == http.MethodGet:
		return OpListPulls, with(s.listPulls)
	case len(rest) == 1 && rest[0] == "pulls" && m == http.MethodPost:
		return OpCreatePull, with(s.createPull)
	case len(rest) == 2 && rest[0] == "pulls" && m == http.MethodPatch:
		return OpEditPull, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) { s.editPull(w, r, repo, rest[1]) })
	case len(rest) == 1 && rest[0] == "issues" && m == http.MethodGet:
		return OpListIssues, with(s.listIssues)
	case len(rest) == 1 && rest[0] == "issues" && m == http.MethodPost:
		return OpCreateIssue, with(s.createIssue)
	case len(rest) == 2 && rest[0] == "issues" && m == http.MethodPatch:
		return OpEditIssue, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) { s.editIssue(w, r, repo, rest[1]) })
	case len(rest) == 2 && rest[0] == "actions" && rest[1] == "secrets" && m == http.MethodGet:
		return OpListSecrets, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) { s.secretList(w, r, repo.Secrets) })
	case len(rest) == 2 && rest[0] == "actions" && rest[1] == "runs" && m == http.MethodGet:
		return OpListRuns, with(s.listRuns)
	case len(rest) == 4 && rest[0] == "actions" && rest[1] == "runs" && rest[3] == "jobs" && m == http.MethodGet:
		return OpListJobs, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) { s.listJobs(w, r, repo, rest[2]) })
	case len(rest) == 4 && rest[0] == "actions" && rest[1] == "runs" && rest[3] == "artifacts" && m == http.MethodGet:
		return OpListArtifacts, with(func(w http.ResponseWriter, r *http.Request, repo *Repo) { s.listArtifacts(w, r, repo, rest[2]) })
	case len(rest) == 4 && rest[0] == "actions" && rest[1] == "jobs" && rest[3] == "logs" && m == http.MethodGet:
		return OpJobLogs, with(func(w http.ResponseWriter, _ *http.Request, repo *Repo) { s.redirect(w, repo, "logs", rest[2]) })
	case len(rest) == 4 && rest[0] == "actions" && rest[1] == "artifacts" && rest[3] == "zip" && m == http.MethodGet:
		return OpArtifactZip, with(func(w http.ResponseWriter, _ *http.Request, repo *Repo) { s.redirect(w, repo, "artifacts", rest[2]) })
	}
	return "", nil
}

func (s *Server) repoJSON(repo *Repo) map[string]any {
	return map[string]any{"id": repo.ID, "name": repo.Name, "full_name": repo.Owner + "/" + repo.Name, "private": true,
		"owner": map[string]any{"login": repo.Owner, "type": "Organization"}, "default_branch": repo.DefaultBranch}
}

func (s *Server) getRepo(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) getRef(w http.ResponseWriter, repo *Repo, branch string) {
	sha, ok := repo.Refs[branch]
	if !ok {
		s.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ref": "refs/heads/" + branch, "node_id": "REF_1", "object": map[string]any{"sha": sha, "type": "commit"}})
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct{ Ref, SHA string }
	if json.NewDecoder(r.Body).Decode(&body) != nil || !strings.HasPrefix(body.Ref, "refs/heads/") || body.SHA == "" {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Invalid request.")
		return
	}
	b := strings.TrimPrefix(body.Ref, "refs/heads/")
	if _, ok := repo.Refs[b]; ok {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Reference already exists")
		return
	}
	var from string
	for br, sha := range repo.Refs {
		if sha == body.SHA {
			from = br
		}
	}
	if from == "" {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	repo.Refs[b] = body.SHA
	files := map[string][]byte{}
	for k, v := range repo.Files[from] {
		files[k] = v
	}
	repo.Files[b] = files
	writeJSON(w, http.StatusCreated, map[string]any{"ref": body.Ref, "object": map[string]any{"sha": body.SHA, "type": "commit"}})
}

func blobSHA(b []byte) string { return sha("blob " + string(b)) }

func (s *Server) branchOr(r *http.Request, repo *Repo, q string) string {
	if b := r.URL.Query().Get(q); b != "" {
		return b
	}
	return repo.DefaultBranch
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request, repo *Repo, path string) {
	files, ok := repo.Files[s.branchOr(r, repo, "ref")]
	b, found := files[path]
	if ok && !found && s.listDir(w, files, strings.TrimSuffix(path, "/")) {
		return
	}
	if !ok || !found {
		s.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	enc := base64.StdEncoding.EncodeToString(b)
	var lines []string // GitHub wraps the base64 at 60 columns
	for len(enc) > 60 {
		lines, enc = append(lines, enc[:60]), enc[60:]
	}
	lines = append(lines, enc)
	name := path[strings.LastIndexByte(path, '/')+1:]
	writeJSON(w, http.StatusOK, map[string]any{"type": "file", "encoding": "base64", "size": len(b), "name": name, "path": path,
		"content": strings.Join(lines, "\n") + "\n", "sha": blobSHA(b)})
}

func (s *Server) putContents(w http.ResponseWriter, r *http.Request, repo *Repo, path string) {
	var body struct {
		Message, Content, SHA, Branch string
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.Message == "" {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" wasn't supplied.")
		return
	}
	content, err := base64.StdEncoding.DecodeString(body.Content)
	if err != nil {
		s.errorJSON(w, http.StatusUnprocessableEntity, "content is not valid Base64")
		return
	}
	branch := body.Branch
	if branch == "" {
		branch = repo.DefaultBranch
	}
	files, ok := repo.Files[branch]
	if !ok {
		s.errorJSON(w, http.StatusNotFound, "Branch "+branch+" not found")
		return
	}
	old, exists := files[path]
	switch {
	case exists && body.SHA == "":
		s.errorJSON(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.")
		return
	case exists && body.SHA != blobSHA(old):
		s.errorJSON(w, http.StatusConflict, path+" does not match "+body.SHA)
		return
	}
	files[path] = content
	commit := s.nextSHA()
	repo.Refs[branch] = commit
	st := http.StatusOK
	if !exists {
		st = http.StatusCreated
	}
	writeJSON(w, st, map[string]any{"content": map[string]any{"name": path, "path": path, "sha": blobSHA(content), "type": "file"},
		"commit": map[string]any{"sha": commit, "message": body.Message}})
}

func (s *Server) prJSON(repo *Repo, p *PR) map[string]any {
	return map[string]any{"number": p.Number, "state": p.State, "title": p.Title, "body": p.Body,
		"html_url": "https://github.com/" + repo.Owner + "/" + repo.Name + "/pull/" + strconv.Itoa(p.Number),
		"head":     map[string]any{"ref": p.Head, "label": repo.Owner + ":" + p.Head, "sha": repo.Refs[p.Head]},
		"base":     map[string]any{"ref": p.Base, "label": repo.Owner + ":" + p.Base}}
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, repo *Repo) {
	q := r.URL.Query()
	state, head := q.Get("state"), q.Get("head")
	if state == "" {
		state = "open"
	}
	var out []*PR
	for _, p := range repo.Pulls {
		if (state == "all" || p.State == state) && (head == "" || head == repo.Owner+":"+p.Head) {
			out = append(out, p)
		}
	}
	listPage(s, w, r, out, "", func(p *PR) any { return s.prJSON(repo, p) })
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct{ Title, Head, Base, Body string }
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.Title == "" || body.Head == "" || body.Base == "" {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	head := strings.TrimPrefix(body.Head, repo.Owner+":")
	if _, ok := repo.Refs[head]; !ok {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	for _, p := range repo.Pulls {
		if p.Head == head && p.State == "open" {
			s.errorJSON(w, http.StatusUnprocessableEntity, "A pull request already exists for "+repo.Owner+":"+head+".")
			return
		}
	}
	p := &PR{Number: nextNumber(repo), Title: body.Title, Body: body.Body, Head: head, Base: body.Base, State: "open"}
	repo.Pulls = append(repo.Pulls, p)
	repo.Issues = append(repo.Issues, &Issue{Number: p.Number, Title: p.Title, State: "open", IsPR: true})
	writeJSON(w, http.StatusCreated, s.prJSON(repo, p))
}

// textEdit is the body of a PATCH to a pull request or an issue: a field
// left out keeps its value.
type textEdit struct{ Title, Body, State *string }

func (e textEdit) apply(title, body, state *string) {
	for _, f := range [...]struct{ dst, src *string }{{title, e.Title}, {body, e.Body}, {state, e.State}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request, repo *Repo, num string) {
	n, _ := strconv.Atoi(num)
	var body textEdit
	_ = json.NewDecoder(r.Body).Decode(&body)
	for _, p := range repo.Pulls {
		if p.Number == n {
			body.apply(&p.Title, &p.Body, &p.State)
			writeJSON(w, http.StatusOK, s.prJSON(repo, p))
			return
		}
	}
	s.errorJSON(w, http.StatusNotFound, "Not Found")
}

func (s *Server) issueJSON(repo *Repo, is *Issue) map[string]any {
	labels := make([]any, 0, len(is.Labels))
	for _, l := range is.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	m := map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"html_url": "https://github.com/" + repo.Owner + "/" + repo.Name + "/issues/" + strconv.Itoa(is.Number)}
	if is.IsPR {
		m["pull_request"] = map[string]any{"url": "https://api.github.com/repos/" + repo.Owner + "/" + repo.Name + "/pulls/" + strconv.Itoa(is.Number)}
	}
	return m
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, repo *Repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var out []*Issue
	for _, is := range repo.Issues {
		if state != "all" && is.State != state {
			continue
		}
		ok := true
		for _, l := range want {
			has := false
			for _, il := range is.Labels {
				has = has || il == l
			}
			ok = ok && has
		}
		if ok {
			out = append(out, is)
		}
	}
	listPage(s, w, r, out, "", func(is *Issue) any { return s.issueJSON(repo, is) })
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct {
		Title, Body string
		Labels      []string
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.Title == "" {
		s.errorJSON(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	is := &Issue{Number: nextNumber(repo), Title: body.Title, Body: body.Body, Labels: body.Labels, State: "open"}
	repo.Issues = append(repo.Issues, is)
	writeJSON(w, http.StatusCreated, s.issueJSON(repo, is))
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, repo *Repo, num string) {
	n, _ := strconv.Atoi(num)
	var body textEdit
	_ = json.NewDecoder(r.Body).Decode(&body)
	for _, is := range repo.Issues {
		if is.Number == n {
			body.apply(&is.Title, &is.Body, &is.State)
			writeJSON(w, http.StatusOK, s.issueJSON(repo, is))
			return
		}
	}
	s.errorJSON(w, http.StatusNotFound, "Not Found")
}

// listPage answers one page of items, each rendered by item: as a bare
// array, or, when wrap is not "", under that key beside total_count (the
// Actions lists).
func listPage[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T, wrap string, item func(T) any) {
	s.paginate(w, r, len(items), func(lo, hi int) any {
		l := make([]any, 0, hi-lo)
		for _, it := range items[lo:hi] {
			l = append(l, item(it))
		}
		if wrap == "" {
			return l
		}
		return map[string]any{"total_count": len(items), wrap: l}
	})
}

func (s *Server) secretList(w http.ResponseWriter, r *http.Request, names []string) {
	now := s.started.Format(time.RFC3339)
	listPage(s, w, r, names, "secrets", func(n string) any {
		return map[string]any{"name": n, "created_at": now, "updated_at": now}
	})
}

func (s *Server) orgRepos(w http.ResponseWriter, r *http.Request, org string) {
	names := s.orgs[org]
	listPage(s, w, r, names, "", func(n string) any { return s.repoJSON(s.repos[org+"/"+n]) })
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, repo *Repo) {
	listPage(s, w, r, repo.Runs, "workflow_runs", func(id int64) any {
		return map[string]any{"id": id, "status": "completed", "conclusion": "success", "created_at": s.started.Format(time.RFC3339)}
	})
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, repo *Repo, run string) {
	id, _ := strconv.ParseInt(run, 10, 64)
	jobs := repo.Jobs[id]
	if r.URL.Query().Get("filter") == "all" {
		jobs = append(append([]int64{}, repo.EarlierJobs[id]...), jobs...)
	}
	listPage(s, w, r, jobs, "jobs", func(j int64) any {
		return map[string]any{"id": j, "run_id": id, "status": "completed", "conclusion": "success", "name": "job-" + strconv.FormatInt(j, 10)}
	})
}

func (s *Server) listArtifacts(w http.ResponseWriter, r *http.Request, repo *Repo, run string) {
	id, _ := strconv.ParseInt(run, 10, 64)
	as := repo.RunArtifacts[id]
	listPage(s, w, r, as, "artifacts", func(a int64) any {
		return map[string]any{"id": a, "name": "artifact-" + strconv.FormatInt(a, 10), "size_in_bytes": len(repo.Artifacts[a]), "expired": false}
	})
}

func (s *Server) redirect(w http.ResponseWriter, repo *Repo, kind, idStr string) {
	id, _ := strconv.ParseInt(idStr, 10, 64)
	var ok bool
	if kind == "logs" {
		_, ok = repo.Logs[id]
	} else {
		_, ok = repo.Artifacts[id]
	}
	if !ok {
		s.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Location", s.signBlob(kind, id))
	w.WriteHeader(http.StatusFound)
}

// nextNumber follows the highest issue or PR number, seeded ones included.
func nextNumber(repo *Repo) int {
	n := 0
	for _, is := range repo.Issues {
		n = max(n, is.Number)
	}
	return n + 1
}
