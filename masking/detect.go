package masking

import (
	"github.com/keylease/keylease/detect"
)

// Detector is one vendor credential format the scanner runs. The formats
// themselves, their bounds and their examples are package detect's table,
// which the configuration and input guards use too.
type Detector struct {
	// Name identifies the detector in findings, e.g. "openai-project-key";
	// "policy:VENDOR" for a policy's required_prefix.
	Name string
	// Vendor is who issues the credential, e.g. "openai".
	Vendor string
}

// maxToken bounds the length of one finding; it is also the overlap between
// chunks of a streamed scan.
const maxToken = detect.MaxToken

// alnum: a vendor prefix must start a word.
var alnum = charset("A-Za-z0-9")

// charset builds a byte set from ranges like "A-Za-z0-9_-" (a trailing or
// leading '-' is literal).
func charset(spec string) *[256]bool {
	return (*[256]bool)(detect.NewCharset(spec))
}

// Detectors returns the built-in vendor detectors plus one for every policy
// required_prefix (vendor name -> prefix) that is not already a built-in
// prefix, so a vendor the policy adds is found too.
func Detectors(prefixes map[string]string) []Detector {
	rules := detect.WithPolicy(prefixes)
	ds := make([]Detector, len(rules))
	for i, r := range rules {
		ds[i] = Detector{Name: r.ID, Vendor: r.Vendor}
	}
	return ds
}
