// Command yamlcheck verifies that YAML files parse and, for a composite
// action (action.yml), that it has the keys the runner needs. actionlint only
// checks workflows, so .ci/run uses this for action.yml. Duplicate keys are
// refused (the decoder's default), and so is a ${{ }} expression inside a
// step's run: script.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
)

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "yamlcheck: %s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func check(path string) error {
	b, err := os.ReadFile(path) //nolint:gosec // G304: the CI script names the files
	if err != nil {
		return err
	}
	var doc struct {
		Name        string         `yaml:"name"`
		Description string         `yaml:"description"`
		Inputs      map[string]any `yaml:"inputs"`
		Outputs     map[string]any `yaml:"outputs"`
		Runs        struct {
			Using string `yaml:"using"`
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("does not parse: %w", err)
	}
	switch {
	case doc.Name == "" || doc.Description == "":
		return fmt.Errorf("an action needs name and description")
	case doc.Runs.Using != "composite":
		return fmt.Errorf("runs.using is %q, want composite", doc.Runs.Using)
	case len(doc.Runs.Steps) == 0:
		return fmt.Errorf("runs.steps is empty")
	}
	// Inputs reach scripts through env: only. An expression spliced into
	// run: text is evaluated before the shell sees it: script injection.
	for i, st := range doc.Runs.Steps {
		if strings.Contains(st.Run, "${{") {
			return fmt.Errorf("step %d (%q): run: holds a ${{ }} expression; pass the value through env: instead", i+1, st.Name)
		}
	}
	return nil
}
