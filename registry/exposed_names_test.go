package registry

import (
	"slices"
	"testing"
)

// TestExposedProblemsNameTheSecrets: a secret-exposed-to-steps problem
// carries the secret names (or "*"), so callers can filter by name.
func TestExposedProblemsNameTheSecrets(t *testing.T) {
	t.Parallel()
	c, err := Parse("r.yaml", []byte(severityRegistry), "p.json", severityPolicy(""))
	if err != nil {
		t.Fatal(err)
	}
	wf := `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ secrets.B_TOKEN }} ${{ secrets.A_KEY }}"
      - run: make
        env:
          ALL: ${{ toJSON(secrets) }}
`
	var got [][]string
	for _, p := range CheckWorkflow("w.yml", []byte(wf), c) {
		if p.Rule == RuleSecretExposed {
			got = append(got, p.Secrets)
		}
	}
	if len(got) != 2 || !slices.Equal(got[0], []string{"A_KEY", "B_TOKEN"}) || !slices.Equal(got[1], []string{"*"}) {
		t.Fatalf("secrets %v", got)
	}
}
