package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func testEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{
		stdin:  strings.NewReader(""),
		stdout: &out, stderr: &errb,
		getenv: func(k string) string { return vars[k] },
		environ: func() []string {
			var l []string
			for k, v := range vars {
				l = append(l, k+"="+v)
			}
			return l
		},
	}, &out, &errb
}

func TestRealMainDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		vars     map[string]string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "no args", args: nil, wantCode: exitConfig, wantErr: "Usage: keylease"},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantOut: "Commands:"},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantOut: "keylease dev"},
		{name: "version extra arg", args: []string{"version", "x"}, wantCode: exitConfig, wantErr: "keylease: version takes no arguments"},
		{name: "unknown", args: []string{"frobnicate"}, wantCode: exitConfig, wantErr: `unknown command frobnicate;`},
		{name: "unknown under actions", args: []string{"frobnicate"}, vars: map[string]string{"GITHUB_ACTIONS": "true"},
			wantCode: exitConfig, wantOut: "::error title=keylease::unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, out, errb := testEnv(tt.vars)
			code := realMain(context.Background(), tt.args, e)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errb.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q, want it to contain %q", out.String(), tt.wantOut)
			}
			if !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errb.String(), tt.wantErr)
			}
		})
	}
}

func TestAnnotationDataIsOneLine(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a\r\nb\nc\rd", "x\r::add-mask::y", "nel\u0085ls\u2028end"} {
		if got := annotationData(in); strings.ContainsAny(got, "\r\n") {
			t.Errorf("annotationData(%q) = %q holds a line break", in, got)
		}
	}
	if got := annotationData("a%b\r\nc"); got != "a%25b; c" {
		t.Errorf("annotationData = %q", got)
	}
}

// TestHelpFlag: every subcommand answers -h the same way: exit 0, one usage
// line and the flags on stdout, nothing on stderr.
func TestHelpFlag(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"exec", "check", "scan", "demo"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			e, out, errb := testEnv(nil)
			if code := realMain(context.Background(), []string{cmd, "-h"}, e); code != exitOK {
				t.Errorf("exit %d", code)
			}
			if n := strings.Count(out.String(), "Usage: keylease "+cmd); n != 1 {
				t.Errorf("%d usage lines in %q", n, out.String())
			}
			if !strings.Contains(out.String(), "  -") {
				t.Errorf("no flags listed: %q", out.String())
			}
			if errb.Len() != 0 {
				t.Errorf("stderr %q", errb.String())
			}
		})
	}
}
