package scanreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

var keyHex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ErrBaseline is the class of every error ParseBaseline returns.
var ErrBaseline = errors.New("not a keylease JSON or SARIF report")

// ParseBaseline reads the keys of the findings in a previous report: a
// JSON report (Schema) or a SARIF log keylease wrote (partialFingerprints).
// Keys are recomputed from a JSON report's locations, so an edited keys
// list cannot suppress a finding elsewhere.
func ParseBaseline(b []byte) (Baseline, error) {
	var probe struct {
		Schema  string `json:"schema"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%w: not JSON (%s)", ErrBaseline, jsonErr(err))
	}
	base := Baseline{}
	switch {
	case probe.Schema == Schema:
		var jr jsonReport
		if err := strictDecode(b, &jr); err != nil {
			return nil, fmt.Errorf("%w: %s report: %s", ErrBaseline, Schema, jsonErr(err))
		}
		for _, f := range jr.Findings {
			base[f.Key()] = true
		}
	case probe.Version == "2.1.0":
		var log struct {
			Runs []struct {
				Results []struct {
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(b, &log); err != nil {
			return nil, fmt.Errorf("%w: SARIF: %s", ErrBaseline, jsonErr(err))
		}
		for _, run := range log.Runs {
			for i, res := range run.Results {
				k := res.PartialFingerprints[FingerprintName]
				if !keyHex.MatchString(k) {
					return nil, fmt.Errorf("%w: SARIF result %d has no partialFingerprints.%s of 64 hex digits (not written by keylease)", ErrBaseline, i, FingerprintName)
				}
				base[k] = true
			}
		}
	case probe.Schema != "":
		return nil, fmt.Errorf("%w: schema %.40q, want %s", ErrBaseline, probe.Schema, Schema)
	default:
		return nil, fmt.Errorf("%w: neither a schema field (%s) nor SARIF version 2.1.0", ErrBaseline, Schema)
	}
	return base, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonErr is a decode error without the input it quotes: a syntax error
// names an offset, a type error a field.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %.60q has the wrong type", te.Field)
	}
	return "unexpected content"
}
