package registry

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// entryKeys is the canonical order of an entry's keys; new keys are written
// in this order.
var entryKeys = []string{"secret_ref", "scope", "max_ttl_seconds", "created", "last_rotated", "expiry_policy", "revoked", "revoked_at"}

var dateOnly = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// UpdateEntry returns yamlBytes with the keys in set written into the entry
// vendor.env, editing the text in place so comments, key order and layout
// survive: an existing scalar is replaced on its line, a missing key is added
// after the entry's last line. Values: bool (revoked), a YYYY-MM-DD string or
// time.Time (created, last_rotated, revoked_at), int (max_ttl_seconds), string
// (secret_ref, expiry_policy), []string (scope). Only entries in block style
// with single-line values can be edited; anything else is an error that says
// so. The result is parsed again before it is returned.
func UpdateEntry(yamlBytes []byte, vendor, env string, set map[string]any) ([]byte, error) {
	what := vendor + "." + env
	rendered := map[string]string{}
	for k, v := range set {
		s, err := renderEntryValue(k, v)
		if err != nil {
			return nil, fmt.Errorf("update %s: %s: %w", what, k, err)
		}
		rendered[k] = s
	}
	data, p := checkText("registry", yamlBytes)
	if p != nil {
		return nil, fmt.Errorf("update %s: %s", what, p.Msg)
	}
	// Edit LF text (the parser miscounts lines after CRLF comments) and give
	// a CRLF file its line endings back.
	crlf := bytes.Contains(data, []byte("\r\n"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if bytes.IndexByte(data, '\r') >= 0 {
		return nil, fmt.Errorf("update %s: the registry has a carriage return that ends no line; edit it by hand", what)
	}
	if _, msg, ok := yamlShape(data); !ok {
		return nil, fmt.Errorf("update %s: %s; run keylease check", what, msg)
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil || len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("update %s: the registry does not parse as one YAML document; run keylease check", what)
	}
	root := mappingValues(f.Docs[0].Body)
	vendorMV, nextVendor := findKey(root, vendor)
	if vendorMV == nil {
		return nil, fmt.Errorf("update %s: no vendor %q in the registry; add the entry by hand", what, vendor)
	}
	envs := mappingValues(vendorMV.Value)
	entryMV, nextEnv := findKey(envs, env)
	if entryMV == nil {
		return nil, fmt.Errorf("update %s: no environment %q under %q; add the entry by hand", what, env, vendor)
	}
	entry, ok := entryMV.Value.(*ast.MappingNode)
	if !ok || entry.IsFlowStyle || len(entry.Values) == 0 {
		return nil, fmt.Errorf("update %s: the entry is not a block mapping; write it as one key per line to update it automatically", what)
	}

	lines := strings.Split(string(data), "\n")
	present := map[string]bool{}
	for _, mv := range entry.Values {
		key := mv.Key.GetToken().Value
		val, ok := rendered[key]
		if !ok {
			continue
		}
		present[key] = true
		if err := replaceScalar(lines, mv, val); err != nil {
			return nil, fmt.Errorf("update %s: %s: %w", what, key, err)
		}
	}
	var add []string
	indent := strings.Repeat(" ", entry.Values[0].Key.GetToken().Position.Column-1)
	for _, k := range entryKeys {
		if v, ok := rendered[k]; ok && !present[k] {
			add = append(add, indent+k+": "+v)
		}
	}
	if len(add) > 0 {
		end := len(lines) // exclusive bound, 0-based: the line of the next key, or EOF
		switch {
		case nextEnv != nil:
			end = nextEnv.Key.GetToken().Position.Line - 1
		case nextVendor != nil:
			end = nextVendor.Key.GetToken().Position.Line - 1
		}
		at := end
		// Comments and blank lines just above the next key belong to it.
		for at > 0 && isBlankOrComment(lines[at-1]) {
			at--
		}
		if at > 0 && at == len(lines) && lines[at-1] == "" {
			at--
		}
		lines = append(lines[:at], append(add, lines[at:]...)...)
	}
	sep := "\n"
	if crlf {
		sep = "\r\n"
	}
	out := []byte(strings.Join(lines, sep))
	if err := verifyUpdate(out, vendor, env, set); err != nil {
		return nil, fmt.Errorf("update %s: %w", what, err)
	}
	return out, nil
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

// findKey returns the member named key and the member after it (nil if last).
func findKey(mvs []*ast.MappingValueNode, key string) (found, next *ast.MappingValueNode) {
	for i, mv := range mvs {
		if mv.Key != nil && mv.Key.GetToken().Value == key {
			if i+1 < len(mvs) {
				next = mvs[i+1]
			}
			return mv, next
		}
	}
	return nil, nil
}

func isBlankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// replaceScalar rewrites the value of mv on its line, keeping what precedes
// it and any trailing comment.
func replaceScalar(lines []string, mv *ast.MappingValueNode, val string) error {
	kp := mv.Key.GetToken().Position
	if kp == nil || kp.Line < 1 || kp.Line > len(lines) {
		return errors.New("cannot locate the value; edit it by hand")
	}
	li := kp.Line - 1
	rs := []rune(lines[li])
	colon := keyColon(rs, kp.Column-1)
	if colon < 0 {
		return errors.New("cannot locate the value on the key's line; edit it by hand")
	}
	start := colon + 1
	switch v := mv.Value.(type) {
	case *ast.StringNode, *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode, *ast.NullNode:
	case *ast.SequenceNode:
		if !v.IsFlowStyle {
			return errors.New("the value is a block list; write it as [a, b] to update it automatically")
		}
	default:
		return errors.New("the value is not a one-line scalar; edit it by hand")
	}
	for start < len(rs) && rs[start] == ' ' {
		start++
	}
	end, err := scalarEnd(rs, start)
	if err != nil {
		return err
	}
	if end == start { // "key:" with no value, maybe a comment after it
		lines[li] = string(rs[:colon+1]) + " " + val + string(rs[colon+1:])
		return nil
	}
	lines[li] = string(rs[:start]) + val + string(rs[end:])
	return nil
}

// keyColon finds the ':' ending the (plain or quoted) key that starts at rs[from].
func keyColon(rs []rune, from int) int {
	if from < 0 || from >= len(rs) {
		return -1
	}
	i := from
	if q := rs[i]; q == '"' || q == '\'' {
		for i++; i < len(rs) && rs[i] != q; i++ {
			if q == '"' && rs[i] == '\\' {
				i++
			}
		}
	}
	for ; i < len(rs); i++ {
		if rs[i] == ':' && (i+1 == len(rs) || rs[i+1] == ' ' || rs[i+1] == '\t') {
			return i
		}
	}
	return -1
}

// scalarEnd finds where the one-line value starting at rs[start] ends.
func scalarEnd(rs []rune, start int) (int, error) {
	if start >= len(rs) {
		return start, nil
	}
	switch rs[start] {
	case '"':
		for i := start + 1; i < len(rs); i++ {
			if rs[i] == '\\' {
				i++
				continue
			}
			if rs[i] == '"' {
				return i + 1, nil
			}
		}
		return 0, errors.New("the quoted value continues on the next line; edit it by hand")
	case '\'':
		for i := start + 1; i < len(rs); i++ {
			if rs[i] == '\'' {
				if i+1 < len(rs) && rs[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
		}
		return 0, errors.New("the quoted value continues on the next line; edit it by hand")
	case '[':
		depth, quote := 0, rune(0)
		for i := start; i < len(rs); i++ {
			switch c := rs[i]; {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '[':
				depth++
			case c == ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errors.New("the list continues on the next line; edit it by hand")
	case '|', '>', '&', '*', '!', '{':
		return 0, errors.New("the value is not a plain one-line scalar; edit it by hand")
	}
	end := len(rs)
	for i := start; i < len(rs); i++ {
		if rs[i] == '#' && i > 0 && (rs[i-1] == ' ' || rs[i-1] == '\t') {
			end = i
			break
		}
	}
	for end > start && (rs[end-1] == ' ' || rs[end-1] == '\t') {
		end--
	}
	return end, nil
}

func renderEntryValue(key string, v any) (string, error) {
	switch key {
	case "revoked":
		b, ok := v.(bool)
		if !ok {
			return "", errors.New("want a bool")
		}
		return strconv.FormatBool(b), nil
	case "created", "last_rotated", "revoked_at":
		switch d := v.(type) {
		case time.Time:
			return d.UTC().Format(time.DateOnly), nil
		case string:
			if _, err := time.Parse(time.DateOnly, d); err != nil || !dateOnly.MatchString(d) {
				return "", errors.New("want a YYYY-MM-DD date")
			}
			return d, nil
		}
		return "", errors.New("want a YYYY-MM-DD string or a time.Time")
	case "max_ttl_seconds":
		switch n := v.(type) {
		case int:
			if n > 0 {
				return strconv.Itoa(n), nil
			}
		case int64:
			if n > 0 {
				return strconv.FormatInt(n, 10), nil
			}
		}
		return "", errors.New("want a positive int")
	case "secret_ref", "expiry_policy":
		s, ok := v.(string)
		if !ok {
			return "", errors.New("want a string")
		}
		if key == "secret_ref" {
			if _, err := ParseRef(s, nil); err != nil {
				return "", err
			}
		} else if det, bad := LooksLikeValue(s); bad {
			return "", fmt.Errorf("looks like a secret value (%s detector); the registry holds refs only", det)
		}
		return strconv.Quote(s), nil
	case "scope":
		l, ok := v.([]string)
		if !ok {
			return "", errors.New("want a []string")
		}
		q := make([]string, len(l))
		for i, s := range l {
			if det, bad := LooksLikeValue(s); bad {
				return "", fmt.Errorf("a label looks like a secret value (%s detector); the registry holds refs only", det)
			}
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]", nil
	}
	known := append([]string(nil), entryKeys...)
	sort.Strings(known)
	return "", fmt.Errorf("not an entry key; use one of %s", strings.Join(known, ", "))
}

// verifyUpdate parses the edited text and checks the entry now holds set.
func verifyUpdate(out []byte, vendor, env string, set map[string]any) error {
	t := parseYAMLTree("registry", out)
	if len(t.probs) > 0 || t.root == nil {
		return errors.New("the edited registry does not parse; edit it by hand")
	}
	root, _ := t.root.(map[string]any)
	envs, _ := root[vendor].(map[string]any)
	entry, _ := envs[env].(map[string]any)
	for k, want := range set {
		got, ok := entry[k]
		if !ok {
			return fmt.Errorf("%s did not land in the entry; edit it by hand", k)
		}
		w, _ := renderEntryValue(k, want)
		g := fmt.Sprint(got)
		same := strings.Trim(w, `"`) == g || w == g || (k == "scope" && fmt.Sprint(want) == g)
		if !same {
			return fmt.Errorf("%s reads back differently; edit it by hand", k)
		}
	}
	return nil
}
