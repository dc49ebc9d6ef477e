package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

// leakyValue is registered with the process-wide Set before any test runs;
// the hidden command below returns an error that carries it.
const leakyValue = "sk-sanitize-test-Q7w8E9r0T1y2U3i4"

func init() {
	if err := masking.Process().Add(secret.FromString(leakyValue)); err != nil {
		panic(err)
	}
	register(&command{name: "zz-test-leak", summary: "test only: fails with an error holding a value",
		run: func(context.Context, []string, *env) error {
			return fmt.Errorf("vendor said: invalid key %s\nheader: Bearer %s", leakyValue, leakyValue)
		}})
}

func TestRealMainSanitizesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
	}{
		{name: "local"},
		{name: "under actions", vars: map[string]string{"GITHUB_ACTIONS": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, out, errb := testEnv(tt.vars)
			code := realMain(context.Background(), []string{"zz-test-leak"}, e)
			if code != exitFail {
				t.Errorf("exit %d, want %d", code, exitFail)
			}
			if want := "keylease: vendor said: invalid key ***; header: Bearer ***\n"; errb.String() != want {
				t.Errorf("stderr %q, want %q", errb.String(), want)
			}
			if tt.vars["GITHUB_ACTIONS"] == "true" && !strings.Contains(out.String(), "::error title=keylease::vendor said: invalid key ***") {
				t.Errorf("annotation %q", out.String())
			}
			for _, s := range []string{out.String(), errb.String()} {
				if strings.Contains(s, leakyValue) || strings.Contains(s, "Q7w8E9r0") {
					t.Fatalf("the value leaked into output")
				}
			}
		})
	}
}
