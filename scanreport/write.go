package scanreport

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteText writes one "location: message" line per finding and the
// summary. quote shows a path safely on a terminal (the caller's rule).
func (r *Report) WriteText(w io.Writer, quote func(string) string) error {
	for _, f := range r.Findings {
		loc := quote(f.Path) + fmt.Sprintf(":%d:%d", f.Line, f.Column)
		if f.Commit != "" {
			loc = f.Commit + ":" + loc
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n", loc, r.message(f)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

type jsonReport struct {
	Schema     string    `json:"schema"`
	Tool       string    `json:"tool"`
	Version    string    `json:"version,omitempty"`
	Findings   []Finding `json:"findings"`
	Suppressed int       `json:"suppressed"`
	// Key per finding, in the same order, for baselines.
	Keys []string `json:"keys"`
}

// WriteJSON writes the report as a versioned JSON document (Schema).
func (r *Report) WriteJSON(w io.Writer) error {
	jr := jsonReport{Schema: Schema, Tool: r.Tool, Version: r.Version, Findings: r.Findings, Suppressed: r.Suppressed}
	if jr.Findings == nil {
		jr.Findings = []Finding{}
	}
	jr.Keys = make([]string, len(r.Findings))
	for i, f := range r.Findings {
		jr.Keys[i] = f.Key()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jr)
}

// The SARIF 2.1.0 subset keylease writes.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool       sarifTool      `json:"tool"`
		ColumnKind string         `json:"columnKind"`
		Results    []sarifResult  `json:"results"`
		Properties map[string]any `json:"properties,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		ShortDescription sarifMessage `json:"shortDescription"`
		Help             sarifMessage `json:"help"`
		DefaultConfig    struct {
			Level string `json:"level"`
		} `json:"defaultConfiguration"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifMessage      `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]string `json:"properties,omitempty"`
	}
	sarifLocation struct {
		Physical struct {
			Artifact struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region struct {
				StartLine   int `json:"startLine"`
				StartColumn int `json:"startColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	}
)

// FingerprintName is the partialFingerprints key keylease's results carry.
const FingerprintName = "keyleaseLocation/v1"

// WriteSARIF writes the report as a SARIF 2.1.0 log with one rule per
// detector.
func (r *Report) WriteSARIF(w io.Writer) error {
	d := sarifDriver{Name: "keylease", Version: r.Version, InformationURI: "https://github.com/keylease/keylease"}
	index := map[string]int{}
	for _, rule := range r.Rules {
		sr := sarifRule{ID: rule.ID, ShortDescription: sarifMessage{Text: rule.ID}, Help: sarifMessage{Text: rule.Help}}
		sr.DefaultConfig.Level = "error"
		index[rule.ID] = len(d.Rules)
		d.Rules = append(d.Rules, sr)
	}
	run := sarifRun{Tool: sarifTool{Driver: d}, ColumnKind: "unicodeCodePoints", Results: []sarifResult{},
		Properties: map[string]any{"tool": r.Tool, "suppressedByBaseline": r.Suppressed}}
	for _, f := range r.Findings {
		i, ok := index[f.Rule]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[f.Rule] = i
			sr := sarifRule{ID: f.Rule, ShortDescription: sarifMessage{Text: f.Rule}, Help: sarifMessage{Text: f.Rule}}
			sr.DefaultConfig.Level = "error"
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sr)
		}
		res := sarifResult{RuleID: f.Rule, RuleIndex: i, Level: "error", Message: sarifMessage{Text: r.message(f)},
			PartialFingerprints: map[string]string{FingerprintName: f.Key()}}
		var loc sarifLocation
		loc.Physical.Artifact.URI = uriOf(f.Path)
		loc.Physical.Region.StartLine = max(f.Line, 1)
		loc.Physical.Region.StartColumn = max(f.Column, 1)
		res.Locations = []sarifLocation{loc}
		if f.Commit != "" || f.Ref != "" {
			res.Properties = map[string]string{}
			if f.Commit != "" {
				res.Properties["commit"] = f.Commit
			}
			if f.Ref != "" {
				res.Properties["ref"] = f.Ref
			}
		}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
