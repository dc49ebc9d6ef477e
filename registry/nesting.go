package registry

import "fmt"

// maxSiblings bounds the keys of one mapping and the items of one flow
// collection. A registry has tens of vendors and a few environments each.
const maxSiblings = 256

// yamlShape finds YAML the parser would take too long over, before the
// parser sees it: its time grows with the square of the depth of unclosed
// flow collections ("[[[[…") and inline sequences ("- - - …"), and of the
// number of keys in one block mapping (it recurses once per key), so a 1 MiB
// file of any of these would stall for minutes. It returns the position of
// the first offending line, what is wrong, and ok.
func yamlShape(data []byte) (p pos, msg string, ok bool) {
	tooDeep := fmt.Sprintf("nested deeper than %d levels; keylease configs are at most four levels deep", maxDepth)
	tooWide := fmt.Sprintf("more than %d keys or items in one mapping or list; split the file or check that it is the right one", maxSiblings)
	line, col := 1, 0
	depth := 0             // open [ and { outside quoted scalars
	items := []int{0}      // per flow depth: separators seen
	var quote byte         // the open quote, or 0
	atLineStart := true    // only blanks and indicators so far on this line
	prev := byte('\n')     // previous non-blank byte on this line, '\n' at the start
	dashes := 0            // inline "- " / "? " / ": " indicators opening a line
	var block []blockLevel // block mappings by indentation
	contentCol := 0        // column where the line's content starts
	keyed := false         // a key was counted on this line
	lineIndent := -1       // leading spaces of this line, -1 until its content starts
	literal := false       // this line opened a block scalar (| or >)
	for i := 0; i < len(data); i++ {
		c := data[i]
		col++
		if c == '\n' {
			line, col = line+1, 0
			if literal && quote == 0 && depth == 0 {
				// Skip the block scalar's text (lines indented deeper than the
				// line that opened it, and blank lines): it is not structure.
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
					if n < len(text) && text[n] != '\r' && n <= lineIndent {
						break
					}
					i, line = end, line+1
				}
				if i >= len(data) {
					break
				}
			}
			atLineStart, prev, dashes, keyed = true, '\n', 0, false
			lineIndent, literal = -1, false
			continue
		}
		if lineIndent < 0 && c != ' ' {
			lineIndent = col - 1
		}
		if quote != 0 {
			switch {
			case quote == '"' && c == '\\':
				i++
				col++
			case c == quote:
				quote = 0
				prev = c
			}
			continue
		}
		if c == ' ' || c == '\t' {
			if c == ' ' && prev == ':' && depth == 0 && !atLineStart && !keyed {
				if !countKey(&block, contentCol) {
					return pos{line, contentCol}, tooWide, false
				}
				keyed = true
			}
			continue
		}
		if atLineStart && depth == 0 && (c == '-' || c == '?' || c == ':') && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n') {
			if dashes++; dashes > maxDepth {
				return pos{line, col}, tooDeep, false
			}
			continue
		}
		if atLineStart {
			contentCol = col
		}
		atLineStart = false
		switch c {
		case '#':
			if i == 0 || data[i-1] == ' ' || data[i-1] == '\t' {
				for i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
				continue
			}
		case '|', '>':
			switch prev {
			case '\n', ':', '-', '?':
				if depth == 0 {
					literal = true
				}
			}
		case '"', '\'':
			switch prev {
			case '\n', ':', ',', '[', '{', '-', '?':
				quote = c
			}
		case '[', '{':
			if depth++; depth > maxDepth {
				return pos{line, col}, tooDeep, false
			}
			items = append(items[:depth], 0)
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth > 0 {
				if items[depth]++; items[depth] > maxSiblings {
					return pos{line, col}, tooWide, false
				}
			}
		case ':':
			if depth == 0 && !keyed && (i+1 == len(data) || data[i+1] == '\n' || data[i+1] == '\r') {
				if !countKey(&block, contentCol) {
					return pos{line, contentCol}, tooWide, false
				}
			}
		}
		prev = c
	}
	return pos{}, "", true
}

// blockLevel counts the keys of the block mapping at one indentation.
type blockLevel struct{ indent, keys int }

// countKey records a block mapping key at column indent and reports whether
// its mapping is still within maxSiblings.
func countKey(block *[]blockLevel, indent int) bool {
	b := *block
	for len(b) > 0 && b[len(b)-1].indent > indent {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1].indent == indent {
		b[len(b)-1].keys++
	} else {
		b = append(b, blockLevel{indent, 1})
	}
	*block = b
	return b[len(b)-1].keys <= maxSiblings
}
