package registry

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// parseYAMLTree parses a YAML file into a tree. Syntax errors become problems
// with the parser's position and a message with any quoted source text cut
// out: the parser quotes tokens, and a token may be a pasted secret.
func parseYAMLTree(file string, data []byte) (t *tree) {
	t = newTree(file)
	defer func() {
		// The parser is third-party code fed untrusted text: a panic in it is
		// a refused file, not a crash (and never a stack with the input in it).
		if r := recover(); r != nil {
			t = newTree(file)
			t.addPos(pos{}, "", "the YAML parser could not read this file; check its syntax")
		}
	}()
	// The parser miscounts lines after a comment ending in CRLF; LF-only text
	// has the same lines and columns.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if p, msg, ok := yamlShape(data); !ok {
		t.addPos(p, "", msg)
		return t
	}
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		p := pos{}
		msg := "invalid YAML"
		var se *yaml.SyntaxError
		if errors.As(err, &se) {
			msg = "invalid YAML: " + safeParserMessage(se.Message)
			if se.Token != nil && se.Token.Position != nil {
				p = pos{se.Token.Position.Line, se.Token.Position.Column}
			}
		}
		t.addPos(p, "", msg+"; fix the syntax (a YAML linter or an editor with the schema shows it)")
		return t
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, ok := d.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		bodies = append(bodies, d.Body)
	}
	switch len(bodies) {
	case 0:
		t.addPos(pos{}, "", "file has no content, only comments; write the configuration (see README.md, configuration reference)")
		return t
	case 1:
	default:
		t.addPos(nodePos(bodies[1]), "", "more than one YAML document (---); keep one document per file")
		return t
	}
	t.root = t.yamlValue("", bodies[0], 0)
	return t
}

func nodePos(n ast.Node) pos {
	if n == nil {
		return pos{}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

func (t *tree) yamlValue(ptr string, n ast.Node, depth int) any {
	if depth > maxDepth {
		t.bad[ptr] = true
		t.addPos(nodePos(n), t.field[ptr], fmt.Sprintf("nested deeper than %d levels; keylease configs are at most four levels deep", maxDepth))
		return nil
	}
	switch v := n.(type) {
	case nil:
		return nil
	case *ast.NullNode:
		return nil
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		if v.Value == nil {
			return ""
		}
		return v.Value.Value
	case *ast.BoolNode:
		return v.Value
	case *ast.IntegerNode:
		switch i := v.Value.(type) {
		case int64:
			return jsonNumber(strconv.FormatInt(i, 10))
		case uint64:
			return jsonNumber(strconv.FormatUint(i, 10))
		}
		t.bad[ptr] = true
		t.addPos(nodePos(n), t.field[ptr], "integer out of range; use a number in range")
		return nil
	case *ast.FloatNode:
		return jsonNumber(strconv.FormatFloat(v.Value, 'g', -1, 64))
	case *ast.InfinityNode, *ast.NanNode:
		t.bad[ptr] = true
		t.addPos(nodePos(n), t.field[ptr], "not a finite number; use a whole number")
		return nil
	case *ast.MappingNode:
		return t.yamlMapping(ptr, v.Values, depth)
	case *ast.MappingValueNode:
		return t.yamlMapping(ptr, []*ast.MappingValueNode{v}, depth)
	case *ast.SequenceNode:
		out := make([]any, 0, len(v.Values))
		for i, e := range v.Values {
			cp := t.child(ptr, strconv.Itoa(i), true, nodePos(e))
			out = append(out, t.yamlValue(cp, e, depth+1))
		}
		return out
	case *ast.AnchorNode, *ast.AliasNode:
		t.bad[ptr] = true
		t.addPos(nodePos(n), t.field[ptr], "YAML anchors and aliases (&, *) are not supported here; write the value out")
		return nil
	case *ast.TagNode:
		t.bad[ptr] = true
		t.addPos(nodePos(n), t.field[ptr], "YAML tags (!…) are not supported here; remove the tag")
		return nil
	default:
		t.bad[ptr] = true
		t.addPos(nodePos(n), t.field[ptr], "unsupported YAML construct; use plain mappings, lists and scalars")
		return nil
	}
}

func (t *tree) yamlMapping(ptr string, values []*ast.MappingValueNode, depth int) any {
	out := make(map[string]any, len(values))
	first := map[string]pos{}
	for _, mv := range values {
		kp := nodePos(mv.Key)
		var key string
		switch k := mv.Key.(type) {
		case *ast.StringNode:
			key = k.Value
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
			key = k.GetToken().Value
		case *ast.MergeKeyNode:
			t.bad[ptr] = true
			t.addPos(kp, t.field[ptr], "YAML merge keys (<<) are not supported here; write the entries out")
			continue
		default:
			t.bad[ptr] = true
			t.addPos(kp, t.field[ptr], "complex mapping key; use a plain name as key")
			continue
		}
		if prev, dup := first[key]; dup {
			cp := ptrOf(ptr, key)
			field := t.field[cp]
			t.addPos(kp, field, fmt.Sprintf("duplicate key (first at line %d); a later copy would silently win, keep one", prev.line))
			continue
		}
		first[key] = kp
		cp := t.child(ptr, key, false, kp)
		t.order[ptr] = append(t.order[ptr], key)
		out[key] = t.yamlValue(cp, mv.Value, depth+1)
	}
	return out
}

var quoted = regexp.MustCompile(`"[^"]*"|'[^']*'|\x60[^\x60]*\x60`)

// safeParserMessage keeps a parser message's description and drops the text
// it quotes from the input (one quoted punctuation character, as in "']' not
// found", is kept: it says what is missing).
func safeParserMessage(msg string) string {
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		inner := q[1 : len(q)-1]
		if len(inner) == 1 && !isAlnum(inner[0]) {
			return q
		}
		return "(text)"
	})
	if _, bad := LooksLikeValue(msg); bad || len(msg) > 200 {
		return "syntax error"
	}
	return msg
}
