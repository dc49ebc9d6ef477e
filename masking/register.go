package masking

import (
	"bytes"
	"io"
	"strings"

	"github.com/keylease/keylease/secret"
)

// commandEscaper escapes workflow command data the way the runner unescapes it
// (%25, %0D, %0A).
var commandEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")

// EscapeCommandData escapes s as workflow command data.
func EscapeCommandData(s string) string { return commandEscaper.Replace(s) }

// RegisterWithRunner writes to w (the step's stdout) one ::add-mask:: command
// for the value, one for each trimmed non-empty line of a multi-line value,
// and one for every extra form of either that the runner does not derive by
// itself. Call it before anything else uses the value. It returns the number
// of commands written. All commands are built first and written in one call,
// so a failure leaves no partial line behind.
func RegisterWithRunner(w io.Writer, v secret.Value) (int, error) {
	return writeMasks(w, registrationForms(v.Bytes()))
}

// RegisterRawWithRunner registers only the value itself and, for a
// multi-line value, each trimmed non-empty line: what the runner needs to
// derive its own encodings (base64, URL, JSON, ...) from. It is meant for a
// credential that no child ever receives (keylease's own OIDC tokens and STS
// session): only keylease could print it, and everything keylease prints
// already passes a Set that holds every form, so the runner's masker is a
// backstop that needs the value, not the extra forms (which for a JWT and a
// session token are most of the ::add-mask:: output). A leased value, which
// a child may transform, takes RegisterWithRunner's every form.
func RegisterRawWithRunner(w io.Writer, v secret.Value) (int, error) {
	return writeMasks(w, units(v.Bytes(), 0))
}

// writeMasks writes one ::add-mask:: per form, all in one Write.
func writeMasks(w io.Writer, forms [][]byte) (int, error) {
	var buf bytes.Buffer
	n := 0
	for _, f := range forms {
		if len(trimSpace(f)) == 0 {
			continue // the runner ignores white-space-only values with a warning
		}
		buf.WriteString("::add-mask::")
		writeEscaped(&buf, f)
		buf.WriteByte('\n')
		n++
	}
	_, err := w.Write(buf.Bytes())
	clear(buf.Bytes())
	if err != nil {
		return 0, err
	}
	return n, nil
}

func writeEscaped(buf *bytes.Buffer, f []byte) {
	for _, c := range f {
		switch c {
		case '%':
			buf.WriteString("%25")
		case '\r':
			buf.WriteString("%0D")
		case '\n':
			buf.WriteString("%0A")
		default:
			buf.WriteByte(c)
		}
	}
}
