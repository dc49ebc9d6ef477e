package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseJSONTree parses a JSON file into a tree with the position of every
// member, refusing duplicate keys and trailing data. encoding/json's own
// decoding would keep the last duplicate silently and gives no positions.
func parseJSONTree(file string, data []byte) *tree {
	t := newTree(file)
	p := &jsonParser{t: t, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	root, err := p.value("", 0)
	if err == nil {
		end := p.skip(int(p.dec.InputOffset()))
		if _, err2 := p.dec.Token(); !errors.Is(err2, io.EOF) {
			t.addPos(p.posAt(end), "", "unexpected data after the top-level object; a JSON file holds one object")
			return t
		}
		t.root = root
		return t
	}
	if !errors.Is(err, errReported) {
		t.addPos(p.errPos(err), "", "invalid JSON: "+jsonErrMsg(err)+"; fix the syntax (an editor with the schema shows it)")
	}
	t.root = nil
	return t
}

var errReported = errors.New("reported")

type jsonParser struct {
	t     *tree
	data  []byte
	dec   *json.Decoder
	nodes int // values read so far, bounded by maxNodes
	// The last position computed: positions are asked for in file order,
	// so counting on from here keeps posAt linear over the whole file.
	lastOff, lastLine, lastStart int
}

// skip moves past whitespace and the separators the decoder consumes on its own.
func (p *jsonParser) skip(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func (p *jsonParser) posAt(off int) pos {
	if off > len(p.data) {
		off = len(p.data)
	}
	if off < p.lastOff || p.lastLine == 0 {
		p.lastOff, p.lastLine, p.lastStart = 0, 1, 0
	}
	seg := p.data[p.lastOff:off]
	if n := bytes.Count(seg, []byte("\n")); n > 0 {
		p.lastLine += n
		p.lastStart = p.lastOff + bytes.LastIndexByte(seg, '\n') + 1
	}
	p.lastOff = off
	return pos{p.lastLine, 1 + utf8.RuneCount(p.data[p.lastStart:off])}
}

func (p *jsonParser) errPos(err error) pos {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		if off > 0 {
			off-- // Offset is just past the offending byte
		}
		for off < len(p.data) && (p.data[off] == ' ' || p.data[off] == '\t' || p.data[off] == '\r' || p.data[off] == '\n') {
			off++
		}
		return p.posAt(off)
	}
	return p.posAt(len(p.data))
}

var jsonQuotedChar = regexp.MustCompile(`'[^']*'`)

// jsonErrMsg keeps the description of a syntax error and drops the character
// it quotes from the input.
func jsonErrMsg(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of file"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return strings.Join(strings.Fields(jsonQuotedChar.ReplaceAllString(se.Error(), "")), " ")
	}
	return "malformed JSON"
}

func (p *jsonParser) value(ptr string, depth int) (any, error) {
	if depth > maxDepth {
		p.t.addPos(p.posAt(p.skip(int(p.dec.InputOffset()))), p.t.field[ptr], fmt.Sprintf("nested deeper than %d levels; keylease configs are at most four levels deep", maxDepth))
		return nil, errReported
	}
	if p.nodes++; p.nodes > maxNodes {
		p.t.addPos(p.posAt(p.skip(int(p.dec.InputOffset()))), p.t.field[ptr], fmt.Sprintf("more than %d values in the file; keylease configs hold a few hundred, check that it is the right file", maxNodes))
		return nil, errReported
	}
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '{':
			return p.object(ptr, depth)
		case '[':
			return p.array(ptr, depth)
		}
		return nil, &json.SyntaxError{Offset: p.dec.InputOffset()}
	case json.Number:
		return x, nil
	default:
		return x, nil // string, bool, nil
	}
}

func (p *jsonParser) object(ptr string, depth int) (any, error) {
	out := map[string]any{}
	first := map[string]pos{}
	for n := 0; p.dec.More(); n++ {
		kp := p.posAt(p.skip(int(p.dec.InputOffset())))
		if n == maxSiblings {
			p.t.addPos(kp, p.t.field[ptr], tooWideMsg)
			return nil, errReported
		}
		tok, err := p.dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, &json.SyntaxError{Offset: p.dec.InputOffset()}
		}
		if prev, dup := first[key]; dup {
			cp := ptrOf(ptr, key)
			p.t.addPos(kp, p.t.field[cp], fmt.Sprintf("duplicate key (first at line %d); a later copy would silently win, keep one", prev.line))
			if _, err := p.value(cp+"#dup", depth+1); err != nil {
				return nil, err
			}
			continue
		}
		first[key] = kp
		cp := p.t.child(ptr, key, false, kp)
		p.t.order[ptr] = append(p.t.order[ptr], key)
		v, err := p.value(cp, depth+1)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	if _, err := p.dec.Token(); err != nil { // '}'
		return nil, err
	}
	return out, nil
}

func (p *jsonParser) array(ptr string, depth int) (any, error) {
	out := []any{}
	for i := 0; p.dec.More(); i++ {
		ep := p.posAt(p.skip(int(p.dec.InputOffset())))
		if i == maxSiblings {
			p.t.addPos(ep, p.t.field[ptr], tooWideMsg)
			return nil, errReported
		}
		cp := p.t.child(ptr, strconv.Itoa(i), true, ep)
		v, err := p.value(cp, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if _, err := p.dec.Token(); err != nil { // ']'
		return nil, err
	}
	return out, nil
}
