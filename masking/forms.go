// Package masking keeps leased values out of everything keylease and its child
// print: the set of forms a value can take (the value, its lines, the runner's
// encodings and the ones the runner misses), their registration with the
// Actions runner's log masker, a streaming redactor for the child's output, a
// sanitizer for error strings and panics, and a scanner for bytes and files.
package masking

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MinLen is the shortest value (and partial form) keylease masks on its own:
// shorter strings occur by chance in ordinary output, so masking them would
// garble logs and still leak nothing reliably.
const MinLen = 8

// runnerForms are the encodings the Actions runner derives by itself from
// every value registered with ::add-mask:: (actions/runner
// src/Sdk/DTLogging/Logging/ValueEncoders.cs, registered in HostContext). The
// value itself comes first.
func runnerForms(v []byte) [][]byte {
	out := [][]byte{
		v,
		base64Shift(v, 0), base64Shift(v, 1), base64Shift(v, 2),
		bytes.ReplaceAll(v, []byte(`"`), []byte(`\"`)), // CommandLineArgumentEscape
		bytes.ReplaceAll(v, []byte(`'`), []byte(`''`)), // ExpressionStringEscape
		newtonsoftJSONEscape(v),                        // JsonStringEscape
		dotnetURIEscape(v),                             // UriDataEscape
		xmlEscape(v),                                   // XmlDataEscape
		trimDoubleQuotes(v),                            // TrimDoubleQuotes
		powerShellPre(v, 6), powerShellPost(v, 6),      // PowerShell{Pre,Post}AmpersandEscape
	}
	return out
}

// extraForms are encodings common tools print that the runner does not
// derive: unpadded and URL-safe base64 (JWTs, Go's Raw encodings, Python's
// urlsafe_b64encode), the base64 digits that do not depend on what follows the
// value (so base64 of "value\n" on one line, as `echo $V | base64 -w0`
// prints, is caught), Go's url.QueryEscape, hex, and the JSON escapes of
// Python's json.dumps and Go's encoding/json. All of these are unbroken runs:
// base64 wrapped over several lines is wrappedBase64's business, and covered
// only as far as it says.
func extraForms(v []byte) [][]byte {
	var out [][]byte
	for shift := 0; shift <= 2; shift++ {
		b := v
		if len(b) > shift {
			b = b[shift:]
		}
		std := base64.StdEncoding.EncodeToString(b)
		url := base64.URLEncoding.EncodeToString(b)
		out = append(out,
			[]byte(url),
			[]byte(strings.TrimRight(std, "=")),
			[]byte(strings.TrimRight(url, "=")),
			stableBase64(base64.RawStdEncoding, b),
			stableBase64(base64.RawURLEncoding, b),
		)
	}
	out = append(out,
		goQueryEscape(v),
		[]byte(hex.EncodeToString(v)),
		[]byte(strings.ToUpper(hex.EncodeToString(v))),
		pythonJSONEscape(v),
		goJSONEscape(v),
	)
	return out
}

// wrapWidths are the columns tools wrap base64 at: 64 (openssl base64, PEM)
// and 76 (GNU base64, Python's base64.encodebytes, MIME).
var wrapWidths = [...]int{64, 76}

// minWrappedTail is the shortest last-line tail masked on its own. A
// shorter one is masked joined to the line before it: a form shorter than
// the matcher's 12-byte skip window narrows it and slows every write.
const minWrappedTail = 12

// wrappedBase64 is base64 of the value wrapped at 64 or 76 columns when the
// value is the start of what was encoded (`echo "$V" | base64`, `openssl
// base64 -in file`): each full line of the digits that do not depend on what
// follows the value, the stable part of the last line when it has
// minWrappedTail digits or more, and, when it is shorter, the last full line
// joined to it by LF and by CRLF (unmasked, it would leak the value's last
// bytes). lines hold no line break and go to the runner too; joined only to
// the redactor (the runner splits a registered value at line breaks).
//
// Not covered: other widths (base64 -w 20), an encoding that does not start
// with the value (`echo "KEY=$V" | base64` moves the line breaks to other
// digits), and URL-safe base64 wrapped (basenc --base64url). Covering every
// column offset would take one form per digit of the encoding.
func wrappedBase64(v []byte) (lines, joined [][]byte) {
	stable := stableBase64(base64.RawStdEncoding, v)
	for _, w := range wrapWidths {
		if len(stable) <= w {
			continue // one line: the unwrapped forms cover it
		}
		n := len(stable) / w
		for k := 0; k < n; k++ {
			lines = append(lines, stable[k*w:(k+1)*w])
		}
		tail := stable[n*w:]
		switch {
		case len(tail) >= minWrappedTail:
			lines = append(lines, tail)
		case len(tail) > 0:
			last := stable[(n-1)*w : n*w]
			for _, eol := range []string{"\n", "\r\n"} {
				j := make([]byte, 0, w+len(eol)+len(tail))
				j = append(append(append(j, last...), eol...), tail...)
				joined = append(joined, j)
			}
		}
	}
	return lines, joined
}

// base64Shift is the runner's Base64StringEscapeShift: padded base64 of the
// bytes after dropping the first shift bytes, or of all bytes when the value
// is not longer than shift.
func base64Shift(v []byte, shift int) []byte {
	if len(v) > shift {
		v = v[shift:]
	}
	return []byte(base64.StdEncoding.EncodeToString(v))
}

// stableBase64 is the unpadded encoding minus its last digit when that digit
// also carries bits of whatever byte follows the value.
func stableBase64(enc *base64.Encoding, b []byte) []byte {
	s := enc.EncodeToString(b)
	if len(b)%3 != 0 && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return []byte(s)
}

// newtonsoftJSONEscape is Newtonsoft's JsonConvert.ToString without the
// quotes: ", \ and control characters escaped (short forms for \b \t \n \f \r,
// else \u00xx in lower-case hex), and U+0085, U+2028, U+2029 as \uXXXX;
// everything else, non-ASCII included, is left as it is.
func newtonsoftJSONEscape(v []byte) []byte {
	return jsonEscape(v, func(r rune) bool { return r < 0x20 || r == 0x85 || r == 0x2028 || r == 0x2029 })
}

// pythonJSONEscape is json.dumps (ensure_ascii=True) without the quotes:
// non-ASCII as \uXXXX (surrogate pairs above the BMP), lower-case hex.
func pythonJSONEscape(v []byte) []byte {
	return jsonEscape(v, func(r rune) bool { return r < 0x20 || r >= 0x7f })
}

// jsonEscape writes v as the body of a JSON string: " and \ escaped, the
// short escapes for \b \t \n \f \r, every other rune for which uEscape is
// true as lower-case \uXXXX (a surrogate pair above the BMP), and the rest,
// invalid UTF-8 bytes included, as they are. The runtimes differ only in
// uEscape.
func jsonEscape(v []byte, uEscape func(rune) bool) []byte {
	var b bytes.Buffer
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRune(v[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\r':
			b.WriteString(`\r`)
		case uEscape(r):
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				writeU(&b, r1, false)
				writeU(&b, r2, false)
			} else {
				writeU(&b, r, false)
			}
		default:
			b.Write(v[i : i+size])
		}
		i += size
	}
	return b.Bytes()
}

// goJSONEscape is what encoding/json prints for the value as a string, without
// the quotes (HTML-safe: <, >, & as \u003c, \u003e, \u0026).
func goJSONEscape(v []byte) []byte {
	out, err := json.Marshal(string(v))
	if err != nil || len(out) < 2 {
		return nil
	}
	return out[1 : len(out)-1]
}

func writeU(b *bytes.Buffer, r rune, upper bool) {
	const lower, upperHex = "0123456789abcdef", "0123456789ABCDEF"
	digits := lower
	if upper {
		digits = upperHex
	}
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(digits[(r>>uint(shift))&0xf])
	}
}

// dotnetURIEscape is .NET's Uri.EscapeDataString: RFC 3986 unreserved
// characters are kept, every other byte of the UTF-8 encoding becomes %XX.
func dotnetURIEscape(v []byte) []byte {
	return percentEscape(v, false)
}

// goQueryEscape is Go's url.QueryEscape: like the above but space becomes +.
func goQueryEscape(v []byte) []byte {
	return percentEscape(v, true)
}

func percentEscape(v []byte, spacePlus bool) []byte {
	const hexUpper = "0123456789ABCDEF"
	out := make([]byte, 0, len(v)*3)
	for _, c := range v {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			out = append(out, c)
		case c == ' ' && spacePlus:
			out = append(out, '+')
		default:
			out = append(out, '%', hexUpper[c>>4], hexUpper[c&0xf])
		}
	}
	return out
}

// xmlEscape is .NET's SecurityElement.Escape.
func xmlEscape(v []byte) []byte {
	var b bytes.Buffer
	for _, c := range v {
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteByte(c)
		}
	}
	return b.Bytes()
}

// utf16Len is the length .NET's String.Length reports.
func utf16Len(v []byte) int {
	n := 0
	for len(v) > 0 {
		r, size := utf8.DecodeRune(v)
		if r > 0xffff {
			n += 2
		} else {
			n++
		}
		v = v[size:]
	}
	return n
}

// trimDoubleQuotes is the runner's TrimDoubleQuotes: the inside of a value
// longer than 8 characters that starts and ends with a double quote.
func trimDoubleQuotes(v []byte) []byte {
	if utf16Len(v) > 8 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return nil
}

// powerShellPre is the runner's PowerShellPreAmpersandEscape: PowerShell may
// print the part of a failing command up to an ampersand on its own.
func powerShellPre(v []byte, minLen int) []byte {
	if !bytes.Contains(v, []byte("&")) {
		return nil
	}
	var sec []byte
	if i := bytes.Index(v, []byte("&+")); i >= 0 {
		sec = v[:i+2]
	} else {
		sec = v[:bytes.LastIndexByte(v, '&')+1]
	}
	if utf16Len(sec) < minLen {
		return nil
	}
	return sec
}

// powerShellPost is the runner's PowerShellPostAmpersandEscape: the part after
// the ampersand (after "&+" and the one colored letter that follows it).
func powerShellPost(v []byte, minLen int) []byte {
	if !bytes.Contains(v, []byte("&")) {
		return nil
	}
	var sec []byte
	if i := bytes.Index(v, []byte("&+")); i >= 0 {
		// .NET's Substring throws past the end; the runner's encoder then
		// contributes nothing, which an empty section reproduces.
		if i+3 <= len(v) {
			sec = v[i+3:]
		}
	} else {
		sec = v[bytes.LastIndexByte(v, '&')+1:]
	}
	if utf16Len(sec) < minLen {
		return nil
	}
	return sec
}

// lines splits a value on \r and \n like the runner's ::add-mask:: handling
// and returns each line trimmed of white space, empty lines dropped. It
// returns nil for a single-line value (trimmed covers that one).
func lines(v []byte) [][]byte {
	if !bytes.ContainsAny(v, "\r\n") {
		return nil
	}
	var out [][]byte
	for _, l := range bytes.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
		l = bytes.TrimFunc(l, unicode.IsSpace)
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// trimmed is the value without surrounding white space (Unicode, as .NET's
// Trim), or nil when that is the value itself or nothing is left. A key
// pasted with a trailing space, tab or newline is printed and encoded
// without it far more often than with it.
func trimmed(v []byte) []byte {
	t := bytes.TrimFunc(v, unicode.IsSpace)
	if len(t) == 0 || len(t) == len(v) {
		return nil
	}
	return t
}

// units are the byte strings treated as the value itself: the value, the
// value trimmed (whenever that differs), and each trimmed line of a
// multi-line value of at least minLine bytes. Set.Add refuses a trimmed
// value shorter than MinLen unless short values are allowed, so the trimmed
// unit needs no length bound here.
func units(v []byte, minLine int) [][]byte {
	out := [][]byte{v}
	if t := trimmed(v); t != nil {
		out = append(out, t)
	}
	for _, l := range lines(v) {
		if len(l) >= minLine {
			out = append(out, l)
		}
	}
	return dedupe(out)
}

// redactionForms is every byte string the redactor, sanitizer and scanner
// treat as the value: each unit (the value, trimmed, its lines of MinLen
// bytes or more) and for each of these the runner's encodings, the extra
// ones, the wrapped base64 lines and the workflow-command escapes. Partial forms (a line, a PowerShell
// part, the inside of quotes) count only from MinLen bytes on; whole-value
// encodings always count.
func redactionForms(v []byte) [][]byte {
	var out [][]byte
	for _, u := range units(v, MinLen) {
		rf := runnerForms(u)
		for i, f := range rf {
			partial := i >= 9 // TrimDoubleQuotes and the PowerShell parts
			if len(f) == 0 || (partial && len(f) < MinLen) {
				continue
			}
			out = append(out, f)
		}
		for _, f := range extraForms(u) {
			if len(f) > 0 {
				out = append(out, f)
			}
		}
		wl, wj := wrappedBase64(u)
		out = append(out, wl...)
		out = append(out, wj...)
		out = append(out, commandEscapes(u)...)
	}
	return dedupe(out)
}

// The escapes of workflow commands, as the runner undoes them
// (actions/runner src/Runner.Common/ActionCommand.cs): data after "::",
// property values (name=...), and the legacy ##[...] form. @actions/core's
// setOutput, saveState and exportVariable print a value this way when the
// file commands are absent, and the runner stores what it unescapes.
var (
	commandData     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	commandProperty = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	commandLegacy   = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ";", "%3B", "]", "%5D")
)

// commandEscapes is each workflow-command escape of v that differs from v.
// They are not registered with the runner: they matter in what the child
// prints, which passes keylease's redactor first.
func commandEscapes(v []byte) [][]byte {
	var out [][]byte
	for _, r := range []*strings.Replacer{commandData, commandProperty, commandLegacy} {
		if e := r.Replace(string(v)); e != string(v) {
			out = append(out, []byte(e))
		}
	}
	return out
}

// registrationForms is what RegisterWithRunner writes as ::add-mask::
// commands: the value, the value trimmed, each trimmed non-empty line, and
// every extra form and wrapped base64 line of these that the runner would not
// derive itself from what was registered. The joined wrapped forms are left
// out: the runner would split them into their lines, the short tail included.
func registrationForms(v []byte) [][]byte {
	us := units(v, 0)
	derived := map[string]bool{}
	for _, u := range us {
		for _, f := range runnerForms(u) {
			derived[string(f)] = true
		}
	}
	out := append([][]byte(nil), us...)
	for _, u := range us {
		wl, _ := wrappedBase64(u)
		for _, f := range append(extraForms(u), wl...) {
			if len(f) >= MinLen && !derived[string(f)] {
				out = append(out, f)
			}
		}
	}
	return dedupe(out)
}

func dedupe(forms [][]byte) [][]byte {
	seen := make(map[string]bool, len(forms))
	out := forms[:0]
	for _, f := range forms {
		if len(f) == 0 || seen[string(f)] {
			continue
		}
		seen[string(f)] = true
		out = append(out, f)
	}
	return out
}
