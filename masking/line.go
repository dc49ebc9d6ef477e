package masking

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The Actions runner reads workflow commands from stdout AND stderr, and ends
// a line at \n or at a bare \r: text that keylease prints about user input (a
// file name, a flag, an error) must stay on its own line, or it could start an
// "::add-mask::" or "::set-output" line. OneLine is that guarantee; it does
// not remove secret forms (Set.Sanitize does).

// OneLine makes s one printable line: line breaks (\r\n, \n, \r, NEL, U+2028,
// U+2029) become "; ", other control characters and invalid UTF-8 become
// visible escapes. The result never contains \r or \n.
func OneLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			b.WriteString("; ")
			n = 2
		case r == '\r', r == '\n', r == '\u0085', r == '\u2028', r == '\u2029':
			b.WriteString("; ")
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
