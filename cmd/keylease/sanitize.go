package main

import "github.com/keylease/keylease/masking"

// Every message main prints goes through the process-wide sanitizer: a value
// that reached an error string by accident is still printed as ***.
func init() {
	sanitize = masking.Process().Sanitize
}
