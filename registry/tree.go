package registry

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// tree is a parsed configuration file as plain JSON-like values (what the
// JSON Schema validator takes) plus, for every JSON pointer, where it was
// written and how to name it in a message.
type tree struct {
	file  string
	root  any
	at    map[string]pos      // pointer → position of the member's key, element or root
	field map[string]string   // pointer → dotted field name for messages (value-like keys redacted)
	order map[string][]string // object pointer → keys in file order
	probs Problems
	bad   map[string]bool // pointers already reported as value-like: no further messages about them
	hit   map[string]bool // pointers with a problem of any kind
}

type pos struct{ line, col int }

func newTree(file string) *tree {
	return &tree{
		file: file, at: map[string]pos{"": {1, 1}}, field: map[string]string{"": ""},
		order: map[string][]string{}, bad: map[string]bool{}, hit: map[string]bool{},
	}
}

func (t *tree) addAt(ptr string, msg string) {
	t.hit[ptr] = true
	p := t.at[ptr]
	t.probs = append(t.probs, Problem{File: t.file, Line: p.line, Column: p.col, Field: t.field[ptr], Msg: msg})
}

func (t *tree) addPos(p pos, field, msg string) {
	t.probs = append(t.probs, Problem{File: t.file, Line: p.line, Column: p.col, Field: field, Msg: msg})
}

// child registers the member key (or element index) of parent and returns its pointer.
func (t *tree) child(parent, key string, isIndex bool, p pos) string {
	ptr := ptrOf(parent, key)
	t.at[ptr] = p
	name := key
	if _, valueLike := LooksLikeValue(key); valueLike {
		name = "<redacted key>"
	} else if !plainKey.MatchString(key) {
		name = strconv.QuoteToASCII(key)
	}
	pf := t.field[parent]
	switch {
	case isIndex:
		t.field[ptr] = pf + "[" + key + "]"
	case pf == "":
		t.field[ptr] = name
	default:
		t.field[ptr] = pf + "." + name
	}
	return ptr
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_$-]+$`)

// pointer joins schema instance locations the way child does.
func pointer(loc []string) string {
	var b strings.Builder
	for _, s := range loc {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(s))
	}
	return b.String()
}

// secretKeyNames are key names that mean "this holds a secret" when they hold
// data. Compared lower-case with '-' and '_' removed.
var secretKeyNames = map[string]bool{
	"value": true, "token": true, "secret": true, "apikey": true, "password": true, "passwd": true,
	"pwd": true, "key": true, "privatekey": true, "accesskey": true, "accesskeyid": true, "secretkey": true,
	"secretaccesskey": true, "clientsecret": true, "credential": true, "credentials": true, "auth": true,
	"bearer": true, "sessiontoken": true, "accesstoken": true, "apitoken": true, "authtoken": true,
	"secretvalue": true, "secretstring": true,
}

// keySeparators is built once: a Replacer allocates its tables on first use.
var keySeparators = strings.NewReplacer("-", "", "_", "")

func isSecretKeyName(k string) bool {
	n := strings.ToLower(keySeparators.Replace(k))
	if secretKeyNames[n] {
		return true
	}
	for _, suf := range []string{"password", "token", "secret", "apikey", "privatekey"} {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

func holdsData(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(x) != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	default:
		return true
	}
}

// scanValues reports every value-like key or string and every secret-named key
// holding data, without ever repeating the text. It marks what it reported so
// the schema pass stays quiet about it.
func (t *tree) scanValues(ptr string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range t.order[ptr] {
			cp := ptrOf(ptr, k)
			if det, ok := LooksLikeValue(k); ok {
				t.bad[cp] = true
				t.addAt(cp, fmt.Sprintf("a key looks like a secret value (%s detector); configuration files hold refs only: remove it, store the secret in AWS Secrets Manager and reference it with secret_ref, and rotate it, it has been exposed", det))
				continue
			}
			if isSecretKeyName(k) && holdsData(x[k]) {
				t.bad[cp] = true
				t.addAt(cp, "this key holds data where only refs belong; configuration files hold refs only: remove it, store the secret in AWS Secrets Manager and name it with secret_ref (kv://… or aws-sm://…), and rotate it if it was a real value")
				continue
			}
			t.scanValues(cp, x[k])
		}
	case []any:
		for i, e := range x {
			t.scanValues(ptrOf(ptr, strconv.Itoa(i)), e)
		}
	case string:
		if det, ok := LooksLikeValue(x); ok {
			t.bad[ptr] = true
			t.addAt(ptr, fmt.Sprintf("looks like a secret value (%s detector), not a ref or label; configuration files hold refs only: remove it, store the secret in AWS Secrets Manager and reference it with secret_ref, and rotate it, it has been exposed", det))
		}
	}
}

// ptrOf is the JSON pointer of member key (or element index) of parent.
func ptrOf(parent, key string) string {
	return parent + "/" + pointerEscaper.Replace(key)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// hitUnder reports whether ptr or anything below it has a problem.
func (t *tree) hitUnder(ptr string) bool {
	for p := range t.hit {
		if p == ptr || strings.HasPrefix(p, ptr+"/") {
			return true
		}
	}
	return false
}

// suppressed reports whether ptr or one of its ancestors was reported as a value.
func (t *tree) suppressed(ptr string) bool {
	for p := ptr; ; {
		if t.bad[p] {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// jsonNumber renders YAML numbers as encoding/json does with UseNumber, so
// both files reach the schema validator in one shape.
func jsonNumber(s string) json.Number { return json.Number(s) }
