package githubapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/leakcheck"
)

// TestWorkflowFilesOverTheCapIsAnError: a workflow directory with more
// files than WorkflowFiles reads is an error (the audit reports the
// repository's workflows unreached), not the first files as if they were
// all: a workflow past the cap would go unchecked.
func TestWorkflowFilesOverTheCapIsAnError(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{})
	r := f.AddRepo(repo.Owner, repo.Name, "main")
	f.Lock()
	for i := range githubapi.MaxWorkflows + 1 {
		r.Files["main"][fmt.Sprintf(".github/workflows/w%03d.yml", i)] = []byte("on: push\n")
	}
	f.Unlock()
	files, err := c.WorkflowFiles(context.Background(), repo)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("%d files, err %v; want an error naming the cap", len(files), err)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), token)
	f.Lock()
	delete(r.Files["main"], ".github/workflows/w000.yml")
	f.Unlock()
	if files, err := c.WorkflowFiles(context.Background(), repo); err != nil || len(files) != githubapi.MaxWorkflows {
		t.Fatalf("at the cap: %d files, %v", len(files), err)
	}
}
