package githubapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/internal/leakcheck"
)

// TestArtifactFilesKeepsDuplicateNames: a zip may hold two entries of one
// name; both are returned (the later under a name saying which entry it
// is), so the first is scanned too and a value in it is not hidden by a
// clean entry after it.
func TestArtifactFilesKeepsDuplicateNames(t *testing.T) {
	t.Parallel()
	f, c := start(t, "", githubapi.Options{})
	r := f.AddRepo(repo.Owner, repo.Name, "main")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, content := range []string{"first entry holds the value", "second entry is clean"} {
		w, err := zw.Create("out.txt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Lock()
	r.Runs = []int64{7}
	r.RunArtifacts[7] = []int64{9}
	r.Artifacts[9] = buf.Bytes()
	f.Unlock()
	files, err := c.ArtifactFiles(context.Background(), repo, 9)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for name, b := range files {
		all = append(all, name+"="+string(b))
	}
	joined := strings.Join(all, "\n")
	if len(files) != 2 || !strings.Contains(joined, "first entry holds the value") || !strings.Contains(joined, "second entry is clean") {
		t.Errorf("files %q, want both entries named out.txt", all)
	}
	leakcheck.Assert(t, "names", []byte(joined), token)
}
