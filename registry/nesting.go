package registry

import "fmt"

// maxSiblings bounds the keys of one mapping and the items of one list. A
// registry has tens of vendors and a few environments each.
const maxSiblings = 256

var tooWideMsg = fmt.Sprintf("more than %d keys or items in one mapping or list; split the file or check that it is the right one", maxSiblings)

// maxNodes bounds the lines with content and the flow items of a YAML file:
// the parser spends about 1.5 KiB and a microsecond on each, so a bound on
// them is a bound on its time and memory. A registry of a hundred vendors in
// four environments has about 2,100.
const maxNodes = 4096

// maxYAMLSize bounds a YAML file: the parser allocates about 50 bytes per
// byte of a scalar, so 1 MiB of text in one value would cost 50 MB.
const maxYAMLSize = 256 << 10

// yamlShape finds YAML the parser would take too long over, before the
// parser sees it: its time grows with the square of the depth of unclosed
// flow collections ("[[[[…") and inline sequences ("- - - …"), and of the
// number of keys in one block mapping, and its memory with the number of
// nodes. It returns the position of the first offending line, what is wrong,
// and ok.
//
// It follows YAML's tokenization where it must skip text (quoted scalars,
// block scalars, comments): a quote or a block scalar indicator starts one
// only at the start of a token (at the start of a line, after an indicator
// and a blank, after a flow indicator, or after a node property and a blank).
// Elsewhere, as in the plain scalar -" or it's, it is text and the brackets
// after it count. Where YAML itself would depend on context the guard cannot
// see cheaply (a quote right after ':' following a plain key in a flow
// collection), the file is refused: counting too much only refuses an odd
// file, skipping too much would let a quadratic one reach the parser.
func yamlShape(data []byte) (p pos, msg string, ok bool) {
	tooDeep := fmt.Sprintf("nested deeper than %d levels; keylease configs are at most four levels deep", maxDepth)
	tooWide := tooWideMsg
	tooMany := fmt.Sprintf("more than %d lines or list items; split the file or check that it is the right one", maxNodes)
	line, col := 1, 0
	depth := 0             // open [ and { outside quoted scalars
	items := []int{0}      // per flow depth: separators seen
	var quote byte         // the open quote, or 0
	atLineStart := true    // only blanks and indicators so far on this line
	prev := byte('\n')     // previous non-blank byte on this line, '\n' at the start
	prevTok := byte('\n')  // what ended the previous token: '\n', an indicator, 'p' (a property) or 0 (text)
	dashes := 0            // inline "- " / "? " / ": " indicators opening a line
	var block []blockLevel // block collections by indentation
	contentCol := 0        // column where the line's content starts
	keyed := false         // a key was counted on this line
	lineIndent := -1       // leading spaces of this line, -1 until its content starts
	literal := false       // this line opened a block scalar (| or >)
	nodes := 0             // lines with content and flow items
	counted := false       // this line is counted in nodes
	node := func() bool { nodes++; return nodes <= maxNodes }
	for i := 0; i < len(data); i++ {
		c := data[i]
		col++
		if c == '\n' {
			line, col = line+1, 0
			if literal && quote == 0 && depth == 0 {
				i, line = skipBlockScalar(data, i, line, lineIndent)
				if i >= len(data) {
					break
				}
			}
			atLineStart, prev, prevTok, dashes, keyed = true, '\n', '\n', 0, false
			lineIndent, literal, counted = -1, false, false
			continue
		}
		if lineIndent < 0 && c != ' ' {
			lineIndent = col - 1
		}
		if c != ' ' && c != '\t' && !counted {
			if counted = true; !node() {
				return pos{line, col}, tooMany, false
			}
		}
		if quote != 0 {
			switch {
			case quote == '"' && c == '\\':
				i++
				col++
			case quote == '\'' && c == '\'' && i+1 < len(data) && data[i+1] == '\'':
				i++ // '' is a quote inside a single-quoted scalar
				col++
			case c == quote:
				quote = 0
				prev, prevTok = c, 0
			}
			continue
		}
		blankBefore := i == 0 || data[i-1] == ' ' || data[i-1] == '\t' || data[i-1] == '\n'
		if c == ' ' || c == '\t' {
			if c == ' ' && prev == ':' && depth == 0 && !atLineStart && !keyed {
				if !countKey(&block, contentCol, ':') {
					return pos{line, contentCol}, tooWide, false
				}
				keyed = true
			}
			continue
		}
		next := byte('\n')
		if i+1 < len(data) {
			next = data[i+1]
		}
		if atLineStart && depth == 0 && (c == '-' || c == '?' || c == ':') && (next == ' ' || next == '\n' || next == '\t') {
			if dashes++; dashes > maxDepth {
				return pos{line, col}, tooDeep, false
			}
			if c == '-' && !countKey(&block, col, '-') {
				return pos{line, col}, tooWide, false
			}
			prev, prevTok = c, c
			continue
		}
		if atLineStart {
			contentCol = col
		}
		atLineStart = false
		// A token starts here when the byte before is a blank that follows
		// an indicator, a property or the line start, or a flow indicator.
		tokStart := (blankBefore && prevTok != 0) || (depth > 0 && (prev == '[' || prev == '{' || prev == ','))
		switch c {
		case '#':
			if blankBefore {
				for i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
				continue
			}
		case '|', '>':
			if tokStart && depth == 0 {
				literal = true
			}
		case '"', '\'':
			switch {
			case tokStart:
				quote = c
			case prev == ':' && !blankBefore && depth > 0:
				// {"a":"b"} is a quoted value after a quoted key, {a:"b"}
				// one plain scalar: count only what is certain.
				if data[i-2] != '"' && data[i-2] != '\'' && data[i-2] != ']' && data[i-2] != '}' {
					return pos{line, col}, "a quote right after ':' in a flow collection; put a space after the ':'", false
				}
				quote = c
			}
		case '&', '!':
			if tokStart {
				for i+1 < len(data) && data[i+1] != ' ' && data[i+1] != '\t' && data[i+1] != '\n' && data[i+1] != ',' && data[i+1] != '[' && data[i+1] != ']' && data[i+1] != '{' && data[i+1] != '}' {
					i++
					col++
				}
				prev, prevTok = c, 'p'
				continue
			}
		case '[', '{':
			if depth++; depth > maxDepth {
				return pos{line, col}, tooDeep, false
			}
			items = append(items[:depth], 0)
			if !node() {
				return pos{line, col}, tooMany, false
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth > 0 {
				if items[depth]++; items[depth] > maxSiblings {
					return pos{line, col}, tooWide, false
				}
				if !node() {
					return pos{line, col}, tooMany, false
				}
			}
		case ':':
			if depth == 0 && !keyed && next == '\n' {
				if !countKey(&block, contentCol, ':') {
					return pos{line, contentCol}, tooWide, false
				}
				keyed = true
			}
		}
		if len(block) > maxDepth {
			return pos{line, col}, tooDeep, false
		}
		prev = c
		prevTok = 0
		if (c == ':' || c == '-' || c == '?') && (next == ' ' || next == '\t' || next == '\n') {
			prevTok = c
		}
		if c == '[' || c == '{' || (c == ',' && depth > 0) {
			prevTok = c // a comma is an indicator only in a flow collection
		}
	}
	if len(data) > maxYAMLSize {
		// Checked last: a shape problem says more about the file.
		return pos{}, fmt.Sprintf("YAML file is larger than %d bytes; a configuration file holds refs only, check that the right file is named", maxYAMLSize), false
	}
	return pos{}, "", true
}

// skipBlockScalar moves past the text of a block scalar whose header ends
// at data[i] == '\n', on a line indented by indent: the lines indented at
// least as deep as its first text line (and deeper than indent), and blank
// lines. It returns the index of the '\n' before the first line that is
// structure again, and that line's number.
func skipBlockScalar(data []byte, i, line, indent int) (int, int) {
	content := -1
	for i+1 < len(data) {
		end := i + 1
		for end < len(data) && data[end] != '\n' {
			end++
		}
		text := data[i+1 : end]
		n := 0
		for n < len(text) && text[n] == ' ' {
			n++
		}
		if n < len(text) && text[n] != '\r' {
			if content < 0 {
				content = n
			}
			if n <= indent || n < content {
				break
			}
		}
		i, line = end, line+1
	}
	return i, line
}

// blockLevel counts the keys (or the items) of the block mapping (or
// sequence) at one indentation.
type blockLevel struct {
	indent int
	kind   byte // ':' mapping, '-' sequence
	keys   int
}

// countKey records a block mapping key (kind ':') or sequence item ('-') at
// column indent and reports whether its collection is still within
// maxSiblings. A sequence may sit at its parent key's indentation.
func countKey(block *[]blockLevel, indent int, kind byte) bool {
	b := *block
	for len(b) > 0 && (b[len(b)-1].indent > indent || (b[len(b)-1].indent == indent && b[len(b)-1].kind != kind && kind == ':')) {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1].indent == indent && b[len(b)-1].kind == kind {
		b[len(b)-1].keys++
	} else {
		b = append(b, blockLevel{indent, kind, 1})
	}
	*block = b
	return b[len(b)-1].keys <= maxSiblings
}
