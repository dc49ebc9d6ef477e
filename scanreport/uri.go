package scanreport

import (
	"net/url"
	"path/filepath"
	"strings"
)

// uriOf is a path as a SARIF relative URI reference: slashes, each segment
// percent-escaped ("a b" -> "a%20b", "x.zip!y" keeps the "!"). Absolute
// paths become file:// URIs.
func uriOf(p string) string {
	p = filepath.ToSlash(p)
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.Join(segs, "/")
	if strings.HasPrefix(p, "/") {
		return "file://" + u
	}
	return strings.TrimPrefix(u, "./")
}
