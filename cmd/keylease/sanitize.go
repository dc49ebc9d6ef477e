package main

import "github.com/keylease/keylease/safetext"

// Every message main prints passes the one value-shape guard first: the
// process-wide sanitizer (a value that reached an error string by accident
// is printed as ***), then every value-shaped token as a placeholder (a key
// pasted into a flag, a path or a file name is not repeated).
func init() {
	sanitize = safetext.Process().Text
}
