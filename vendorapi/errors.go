package vendorapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/keylease/keylease/masking"
)

// Error is a vendor's non-2xx answer, cut to what is safe to print.
type Error struct {
	Vendor string // "openai", "anthropic", "xai"
	Op     string // what keylease was doing
	Status int    // HTTP status
	Type   string // vendor error type ("" when absent or not of the safe shape)
	Code   string // vendor error code, likewise
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: http %d %s", e.Vendor, e.Op, e.Status, http.StatusText(e.Status))
	switch {
	case e.Type != "" && e.Code != "":
		s += " (" + e.Type + "/" + e.Code + ")"
	case e.Type != "":
		s += " (" + e.Type + ")"
	case e.Code != "":
		s += " (" + e.Code + ")"
	}
	return s
}

// Throttled reports whether the vendor asked us to slow down (429).
func (e *Error) Throttled() bool { return e.Status == http.StatusTooManyRequests }

// maxToken caps a vendor type/code; real ones are far shorter.
const maxToken = 64

// safeToken returns s when it looks like an error type or code (letters,
// digits, '_', '-', '.', ':', and spaces for xAI's gRPC status phrases) and
// is at most maxToken bytes; otherwise "". Key-shaped text fits that
// alphabet, so anything a vendor-format detector recognises, or that starts
// like a key, is refused as well.
func safeToken(s string) string {
	if s == "" || len(s) > maxToken {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == ':' || c == ' '
		if !ok {
			return ""
		}
	}
	if looksLikeKey(s) {
		return ""
	}
	return s
}

var keyScanner = masking.NewScanner(masking.ScanOptions{Detectors: true})

func looksLikeKey(s string) bool {
	for _, p := range []string{"sk-", "sk_", "xai-", "eyJ", "ghp_", "ghs_", "github_pat_", "AKIA", "ASIA"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return len(keyScanner.Scan([]byte(s))) > 0
}
