package lifecycle

import (
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/githubfake"
)

// registryRepo starts a GitHub fake (GitHub Enterprise paths) that
// accepts token, with acme/infra holding registryText on main, and points
// the world's run at it as the workspace's repository.
func (w *world) registryRepo(token string) (*githubfake.Server, *githubfake.Repo) {
	w.t.Helper()
	gh, err := githubfake.Start("/api/v3", token)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = gh.Close() })
	repo := gh.AddRepo("acme", "infra", "main")
	gh.Lock()
	repo.Files["main"]["registry.yaml"] = []byte(registryText)
	gh.Unlock()
	w.vars["GITHUB_API_URL"] = gh.APIURL()
	w.vars["GITHUB_TOKEN"] = token
	w.vars["GITHUB_REPOSITORY"] = "acme/infra"
	w.vars["GITHUB_WORKSPACE"] = w.dir
	w.secrets = append(w.secrets, token)
	return gh, repo
}

// TestRegistryPRTwiceOnePR: --registry-update pr opens the registry pull
// request on keylease/rotate-openai-ci with last_rotated and the comments;
// a second (forced) rotation updates the same PR, never a second one. The
// PR's title, body and file hold no value.
func TestRegistryPRTwiceOnePR(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gh, repo := w.registryRepo("ghs_fakeTokenForTheRotateTest0123456789")
	o := w.options()
	o.RegistryUpdate = UpdatePR
	res, err := w.rotate(o)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if res.Records[0].PullRequest == "" {
		t.Fatal("no PR URL in the record")
	}
	o.Force = true
	w.now = w.now.AddDate(0, 0, 1)
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("second rotate: %v", err)
	}
	gh.Lock()
	defer gh.Unlock()
	if len(repo.Pulls) != 1 {
		t.Fatalf("%d pull requests, want 1 (updated)", len(repo.Pulls))
	}
	pr := repo.Pulls[0]
	file := string(repo.Files["keylease/rotate-openai-ci"]["registry.yaml"])
	if pr.Head != "keylease/rotate-openai-ci" || !strings.Contains(pr.Title, "2026-12-02") || !strings.Contains(file, "last_rotated: 2026-12-02") || !strings.Contains(file, "# rotated monthly") {
		t.Fatalf("PR head %q title %q; file:\n%s", pr.Head, pr.Title, file)
	}
	for name, b := range map[string]string{"PR title": pr.Title, "PR body": pr.Body, "PR file": file} {
		w.check(name, []byte(b))
	}
	if b, _ := readFile(w.reg); b != registryText {
		t.Fatal("pr mode changed the local registry")
	}
}
