package githubapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keylease/keylease/githubapi"
	"github.com/keylease/keylease/masking"
)

// TestETagsSaveIsLegibleToTheScan: the cache file holds GitHub's answers
// as the JSON text GitHub sent, not base64 of it, so the scan run before
// the file is written sees a key in an answer (here a workflow file named
// after one, in the directory listing) and can refuse to write it. Base64
// of the answer hid it from every detector.
func TestETagsSaveIsLegibleToTheScan(t *testing.T) {
	t.Parallel()
	e := githubapi.NewETags()
	f, gc := paced(t, &githubapi.Pace{ETags: e})
	r := f.AddRepo(repo.Owner, repo.Name, "main")
	key := "sk-proj-" + strings.Repeat("Qw3Er5Ty", 5) + "T3BlbkFJ" + strings.Repeat("Zx7Cv9Bn", 5)
	f.Lock()
	r.Files["main"][".github/workflows/"+key+".yml"] = []byte("name: ci\non: push\njobs: {}\n")
	f.Unlock()
	if _, err := gc.WorkflowFiles(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := e.Save(&saved); err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	// Only the bodies are scanned: the URLs, which name the file, are
	// plain text either way.
	var m map[string]struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(saved.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	vendor := false
	for _, v := range m {
		for _, fd := range sc.Scan(v.Body) {
			vendor = vendor || strings.HasPrefix(fd.Detector, "openai")
		}
	}
	if !vendor {
		t.Fatal("the saved cache hides a vendor key from the OpenAI detectors; the scan before write cannot refuse it")
	}
	// An old cache (bodies in base64) still loads: its entries are asked
	// for afresh, and the answers are GitHub's.
	old := `{"https://api.github.com/x":{"etag":"\"a\"","content_type":"application/json","body":"eyJhIjoxfQ=="}}`
	e2 := githubapi.NewETags()
	if err := e2.Load(strings.NewReader(old)); err != nil || e2.Len() != 0 {
		t.Fatalf("an old cache: %v, %d entries kept (want it read and its base64 entry dropped)", err, e2.Len())
	}
}
