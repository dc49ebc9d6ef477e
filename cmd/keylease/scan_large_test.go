package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/testkit"
)

// TestScanLargeFileStreamed: a file over maxInMemory is streamed from the
// descriptor the walk opened, and a key in it is reported at its line and
// column, read from the same descriptor rewound (not the path opened
// again, which a link put in its place would redirect). The file is sparse:
// 64 MiB of holes cost no disk.
func TestScanLargeFileStreamed(t *testing.T) {
	t.Parallel()
	key, err := fakeKey("sk-proj-", 60)
	testkit.Must(t, err)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.log"))
	testkit.Must(t, err)
	testkit.Must(t, f.Truncate(maxInMemory+1))
	_, err = f.WriteAt([]byte("\nline two\n  token="+key+"\n"), maxInMemory+1)
	testkit.Must(t, err)
	testkit.Must(t, f.Close())
	e, out, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true"})
	code := realMain(context.Background(), []string{"scan", dir}, e)
	if code != exitLeak {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, exitLeak, out, errb)
	}
	if want := "big.log:3:9: credential found by detector openai-project-key"; !strings.Contains(out.String(), want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	leakcheck.Assert(t, "stdout", out.Bytes(), key)
	leakcheck.Assert(t, "stderr", errb.Bytes(), key)
}
