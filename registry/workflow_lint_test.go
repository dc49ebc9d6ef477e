package registry

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func loadOK(t *testing.T) *Config {
	t.Helper()
	c, err := Load(filepath.Join("..", "testdata", "registry", "ok-registry.yaml"), filepath.Join("..", "testdata", "registry", "ok-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWorkflowLint: each workflow rule against a fixture with its true
// positives and near misses; want is every problem, exactly.
func TestWorkflowLint(t *testing.T) {
	t.Parallel()
	c := loadOK(t)
	tests := []struct {
		file string
		want []string // "LINE:COL RULE"
	}{
		// GITHUB_TOKEN, vars and PLAIN are not findings; keylease's own step is not.
		{"exposed.yml", []string{
			"6:3 secret-exposed-to-steps", "11:7 secret-exposed-to-steps", "19:11 secret-exposed-to-steps",
			"23:11 secret-exposed-to-steps", "24:9 secret-exposed-to-steps"}},
		{"clean.yml", nil},
		// @v1, @main and a short SHA; a local action is the repository's own code.
		{"unpinned.yml", []string{"9:9 keylease-action-unpinned", "13:9 keylease-action-unpinned", "17:9 keylease-action-unpinned"}},
		// The job that leases is reported; the job that does not is not.
		{"prt.yml", []string{"6:3 keylease-under-pull-request-target"}},
		// Workflow-level id-token is inherited; job permissions replace it;
		// read-all lacks it; write-all has it.
		{"idtoken.yml", []string{"15:5 keylease-without-id-token-write", "24:5 keylease-without-id-token-write"}},
		{"idtoken-none.yml", []string{"4:3 keylease-without-id-token-write"}},
		// openai.prod is revoked in the fixture registry; openai.ci is not.
		{"revoked.yml", []string{"12:11 revoked-ref-in-workflow", "16:11 revoked-ref-in-workflow"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ps := CheckWorkflowFile(filepath.Join("..", "testdata", "workflows", tt.file), c)
			var got []string
			for _, p := range ps {
				got = append(got, fmt.Sprintf("%d:%d %s", p.Line, p.Column, p.Rule))
				if p.Rule == "" || WorkflowRules[p.Rule] == "" {
					t.Errorf("problem %v has no described rule", p)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s\nproblems:\n%v", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), ps)
			}
		})
	}
}

func TestSecretsIn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"${{ secrets.A }}":                      "A",
		"x ${{secrets.A}} y ${{ secrets.B_2 }}": "A,B_2",
		"${{ secrets['my-key'] }}":              "my-key",
		`${{ secrets["K"] }}`:                   "K",
		"${{ toJSON(secrets) }}":                "*",
		"${{ secrets.GITHUB_TOKEN }}":           "",
		"${{ github.token }}":                   "",
		"${{ vars.secrets }}":                   "",
		"secrets.A without an expression":       "",
		"${{ inputs.x }} secrets.A":             "",
	} {
		if got := strings.Join(secretsIn(in), ","); got != want {
			t.Errorf("secretsIn(%q) = %q, want %q", in, got, want)
		}
	}
}
