package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

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

// TestScanRootLinkRefused: a path given to scan that is a link is refused
// (exit 2, naming it and what to give instead), not reported clean after
// reading nothing; the same link with a trailing / is scanned.
func TestScanRootLinkRefused(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	key, err := fakeKey("sk-proj-", 60)
	testkit.Must(t, err)
	dir := t.TempDir()
	target := filepath.Join(dir, "real")
	testkit.Must(t, os.Mkdir(target, 0o700))
	testkit.Must(t, os.WriteFile(filepath.Join(target, "a.env"), []byte("KEY="+key+"\n"), 0o600))
	link := filepath.Join(dir, "link")
	testkit.Must(t, os.Symlink(target, link))
	e, out, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true"})
	if code := realMain(context.Background(), []string{"scan", link}, e); code != exitConfig {
		t.Errorf("scan of a link: exit %d, want %d; stdout %q stderr %q", code, exitConfig, out, errb)
	}
	if !strings.Contains(errb.String(), "a symbolic link, and links are not followed") || strings.Contains(out.String(), "no findings") {
		t.Errorf("scan of a link: stdout %q stderr %q, want the link refused", out, errb)
	}
	e2, out2, errb2 := testEnv(map[string]string{"GITHUB_ACTIONS": "true"})
	if code := realMain(context.Background(), []string{"scan", link + "/"}, e2); code != exitLeak {
		t.Errorf("scan of link/: exit %d, want %d; stdout %q stderr %q", code, exitLeak, out2, errb2)
	}
	for _, b := range [][]byte{out.Bytes(), errb.Bytes(), out2.Bytes(), errb2.Bytes()} {
		leakcheck.Assert(t, "output", b, key)
	}
}

// TestScanAnnotationEscapesControls: a file named with a terminal escape,
// a C1 control and invalid UTF-8 reaches no output raw, the ::error
// annotation's file= property included (the Actions log renders ANSI
// sequences), and still cannot start a workflow command.
func TestScanAnnotationEscapesControls(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("such names are not valid on Windows")
	}
	key, err := fakeKey("sk-proj-", 60)
	testkit.Must(t, err)
	dir := t.TempDir()
	name := "x\n::warning::pwn\x1b[31m\u009b2J\xff\x07.env"
	testkit.Must(t, os.WriteFile(filepath.Join(dir, name), []byte("KEY="+key+"\n"), 0o600))
	for _, format := range []string{"text", "json", "sarif"} {
		e, out, errb := testEnv(map[string]string{"GITHUB_ACTIONS": "true"})
		if code := realMain(context.Background(), []string{"scan", "--format", format, dir}, e); code != exitLeak {
			t.Fatalf("%s: exit %d, want %d; stderr %q", format, code, exitLeak, errb)
		}
		for what, b := range map[string]string{"stdout": out.String(), "stderr": errb.String()} {
			controls := "\x1b\u009b\x07"
			if format == "json" && what == "stdout" {
				controls = "\x1b\x07" // encoding/json leaves C1 controls as they are
			}
			if !utf8.ValidString(b) || strings.ContainsAny(b, controls) {
				t.Errorf("%s %s holds a control character or invalid UTF-8: %q", format, what, b)
			}
			for _, line := range strings.Split(b, "\n") {
				if strings.HasPrefix(line, "::warning") || strings.Contains(line, "\r") {
					t.Errorf("%s %s: a file name started a line or a workflow command: %q", format, what, line)
				}
			}
			leakcheck.Assert(t, format+" "+what, []byte(b), key)
		}
	}
}

// TestScanJobsBounded: --jobs past the bound is a usage error (exit 2)
// before anything is allocated for the goroutines.
func TestScanJobsBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, n := range []string{"0", "-3", "5000"} {
		e, out, errb := testEnv(map[string]string{})
		if code := realMain(context.Background(), []string{"scan", "--jobs", n, dir}, e); code != exitConfig || !strings.Contains(errb.String(), "want 1 to 1024") {
			t.Errorf("--jobs %s: exit %d, stdout %q stderr %q; want exit 2", n, code, out, errb)
		}
	}
	e, out, errb := testEnv(map[string]string{})
	if code := realMain(context.Background(), []string{"scan", "--jobs", "1024", dir}, e); code != exitOK {
		t.Errorf("--jobs 1024: exit %d, stdout %q stderr %q", code, out, errb)
	}
}
