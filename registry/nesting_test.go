package registry

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bounds on one Parse of any input up to MaxFileSize.
const (
	parseTimeBound = 100 * time.Millisecond
	parseMemBound  = 64 << 20
)

// deepFlow is 40 levels of flow nesting: past maxDepth, and the shape whose
// parsing cost grows with the square of its depth.
var deepFlow = strings.Repeat("[", 40) + strings.Repeat("]", 40)

// TestShapeGuardQuotes pins the tokenization the guard follows: a quote or
// a block scalar indicator that is not at the start of a token is text, so
// the structure after it is counted (these inputs all reached the parser).
func TestShapeGuardQuotes(t *testing.T) {
	for name, in := range map[string]string{
		"quote after dash":                "x: -\"\ny: " + deepFlow + "\n",
		"quote after question mark":       "x: ?\"\ny: " + deepFlow + "\n",
		"quote after colon":               "x: :\"\ny: " + deepFlow + "\n",
		"quote inside a plain scalar":     "x: a\"b\ny: " + deepFlow + "\n",
		"apostrophe inside a word":        "x: it's\ny: " + deepFlow + "\n",
		"quote after a dash entry":        "- -'\n- " + deepFlow + "\n",
		"doubled quote in single quotes":  "x: 'a'' [a, \"b'\ny: " + deepFlow + "\n",
		"escaped quote in double quotes":  "x: \"a\\\" [a, 'b\"\ny: " + deepFlow + "\n",
		"literal after dash":              "x: -|\n  y: " + deepFlow + "\n",
		"folded after colon":              "x: a:>\n  y: " + deepFlow + "\n",
		"block scalar ends at its indent": "x: |\n    a\n  y: " + deepFlow + "\n",
		"hash inside a word":              "x: a#b " + deepFlow + "\n",
		"quote after plain flow key":      "x: {a:\"b\", c: " + deepFlow + "}\n",
		"quote after a comma in block":    "x: a, \"b\ny: " + deepFlow + "\n",
		"quote after a blank in a word":   "x: a \"b\ny: " + deepFlow + "\n",
		"quote after an unspaced anchor":  "x: &a\"b\ny: " + deepFlow + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, ok := yamlShape([]byte(in))
			if ok {
				t.Fatal("the guard let the input through")
			}
			_, err := Parse("r.yaml", []byte(in), "p.json", []byte(`{}`))
			if err == nil || !strings.Contains(err.Error(), "r.yaml:") {
				t.Fatalf("Parse did not refuse the registry: %v", err)
			}
			assertNoValue(t, fakeKey, err.Error())
		})
	}
	// What YAML does treat as quoted or as a block scalar stays skipped.
	for name, in := range map[string]string{
		"double quoted value": "x: \"" + deepFlow + "\"\n",
		"single quoted item":  "- '" + deepFlow + "'\n",
		"flow item":           "x: [a, \"" + deepFlow + "\"]\n",
		"json style":          `{"x":"` + deepFlow + `"}`,
		"after an anchor":     "x: &a \"" + deepFlow + "\"\n",
		"literal":             "x: |\n  " + deepFlow + "\n  b\ny: 1\n",
		"literal in a list":   "- >-\n  " + deepFlow + "\n- 1\n",
		"comment":             "x: 1 # " + deepFlow + "\n",
		"doubled quote":       "x: 'it''s " + deepFlow + "'\n",
	} {
		t.Run(name, func(t *testing.T) {
			if p, msg, ok := yamlShape([]byte(in)); !ok {
				t.Fatalf("refused at %v: %s", p, msg)
			}
		})
	}
}

// measure runs Parse once on reg and reports the CPU time the process spent
// (user and system, all threads: GC included, other processes' load not)
// and the bytes it allocated.
func measure(reg, pol []byte) (time.Duration, uint64, error) {
	// TotalAlloc counts every byte allocated, collected or not: no GC is
	// needed around the call (and forcing one would slow the fuzzer).
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0 := cpuTime()
	_, err := Parse("r.yaml", reg, "p.json", pol)
	d := cpuTime() - c0
	runtime.ReadMemStats(&m1)
	return d, m1.TotalAlloc - m0.TotalAlloc, err
}

func checkBounds(t *testing.T, reg, pol []byte) {
	t.Helper()
	if len(reg) > MaxFileSize || len(pol) > MaxFileSize {
		return
	}
	d, mem, err := measure(reg, pol)
	refused := "accepted"
	if err != nil {
		refused = "refused"
	}
	t.Logf("%s in %v, %d KB allocated", refused, d, mem>>10)
	if mem > parseMemBound {
		t.Fatalf("Parse of %d+%d bytes allocated %d MB (bound %d MB)", len(reg), len(pol), mem>>20, parseMemBound>>20)
	}
	for try := 0; !raceOn && d > parseTimeBound; try++ {
		// Retries: a scheduler or GC hiccup is not the input's cost.
		if try == 2 {
			t.Fatalf("Parse of %d+%d bytes took %v of CPU, three times (bound %v)", len(reg), len(pol), d, parseTimeBound)
		}
		d, _, _ = measure(reg, pol)
	}
	if err != nil {
		for _, tok := range valueLikeTokens(reg) {
			if strings.Contains(err.Error(), tok) {
				t.Fatal("a problem repeats a value-like token of the input")
			}
		}
	}
}

// worstShapes are the costliest shapes for the parser, each about 1 MiB.
func worstShapes() map[string]string {
	const m = MaxFileSize - 64
	fill := func(unit string) string { return strings.Repeat(unit, m/len(unit)) }
	var wideMap, wideNested, entries strings.Builder
	for i := 0; wideMap.Len() < m-32; i++ {
		wideMap.WriteString("k" + strconv.Itoa(i) + ": 1\n")
	}
	for v := 0; wideNested.Len() < m-64; v++ {
		wideNested.WriteString("v" + strconv.Itoa(v) + ":\n")
		for e := 0; e < maxSiblings && wideNested.Len() < m-64; e++ {
			wideNested.WriteString("  e" + strconv.Itoa(e) + ": 1\n")
		}
	}
	for v := 0; entries.Len() < m-200; v++ {
		entries.WriteString("openai:\n  e" + strconv.Itoa(v) + ":\n    secret_ref: kv://openai/ci/api_key\n    scope: [llm:chat]\n    max_ttl_seconds: 60\n")
	}
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'z'; i++ {
		p := string(i - 1)
		laughs += string(i) + ": &" + string(i) + " [*" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + "]\n"
	}
	return map[string]string{
		"deep flow":            strings.Repeat("[", m/2) + strings.Repeat("]", m/2),
		"deep flow maps":       fill("{a: "),
		"deep flow behind -\"": "x: -\"\ny: " + strings.Repeat("[", m/2-8),
		"deep inline seqs":     fill("- "),
		"deep block maps": func() string {
			var b strings.Builder
			for i := 0; b.Len() < m-2*i; i++ {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return b.String()
		}(),
		"wide flow":          "[" + fill("a,") + "]",
		"many flow lists":    fill("- [" + strings.Repeat("a,", 200) + "a]\n"),
		"wide block map":     wideMap.String(),
		"wide nested maps":   wideNested.String(),
		"long sequence":      fill("- a\n"),
		"many entries":       entries.String(),
		"long scalar":        "x: " + fill("a"),
		"long quoted scalar": "x: \"" + fill("a\n ") + "\"\n",
		"long block scalar":  "x: |\n" + fill("  a\n"),
		"comments":           fill("# c\n"),
		"documents":          fill("---\n"),
		"anchors":            fill("- &a x\n"),
		"aliases":            "a: &a x\nb: [" + fill("*a, ") + "]\n",
		"long anchor":        "a: &" + fill("a") + " x\n",
		"billion laughs":     laughs,
		"colons":             fill(":"),
		"blank lines":        "a: 1\n" + fill("\n"),
		// Accepted: at the caps, not past them.
		"entries at the line cap": atCaps(),
		"scalar at the size cap":  "x: " + strings.Repeat("a", maxYAMLSize-8) + "\n",
		"flow lists at the caps":  strings.Repeat("- ["+strings.Repeat("a,", maxSiblings-1)+"a]\n", maxNodes/(maxSiblings+1)-1),
	}
}

// atCaps is a registry of 256 vendors in 2 environments (512 entries): under maxNodes
// lines, maxSiblings keys and maxYAMLSize bytes.
func atCaps() string {
	var b strings.Builder
	for v := 0; v < maxSiblings; v++ {
		b.WriteString("v" + strconv.Itoa(v) + ":\n")
		for e := 0; e < (maxNodes/maxSiblings-2)/5; e++ {
			b.WriteString("  e" + strconv.Itoa(e) + ":\n    secret_ref: kv://openai/ci/api_key\n    scope: [llm:chat]\n    max_ttl_seconds: 60\n")
		}
	}
	return b.String()
}

// TestShapeWorstCases: every shape is refused or parsed within the bounds.
func TestShapeWorstCases(t *testing.T) {
	pol, err := os.ReadFile(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range worstShapes() {
		t.Run(name, func(t *testing.T) {
			checkBounds(t, []byte(in), pol)
		})
	}
	// The JSON policy too.
	reg, err := os.ReadFile(exampleRegistry)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range worstJSON() {
		t.Run("json "+name, func(t *testing.T) {
			checkBounds(t, reg, []byte(in))
		})
	}
}

func worstJSON() map[string]string {
	const m = MaxFileSize - 64
	var keys, nested strings.Builder
	keys.WriteString(`{"version":1,"ttl_caps_seconds":{`)
	for i := 0; keys.Len() < m-32; i++ {
		keys.WriteString(`"e` + strconv.Itoa(i) + `":1,`)
	}
	keys.WriteString(`"z":1}}`)
	nested.WriteString(`{"a":[`)
	for nested.Len() < m-300 {
		nested.WriteString(`[` + strings.Repeat("1,", 100) + `1],`)
	}
	nested.WriteString(`1]}`)
	return map[string]string{
		"wide object": keys.String(),
		"many arrays": nested.String(),
		"deep arrays": `{"a":` + strings.Repeat("[", m/2-8),
		"long string": `{"a":"` + strings.Repeat("a", m-16) + `"}`,
		"wide array":  `{"a":[` + strings.Repeat("1,", m/2-8) + `1]}`,
	}
}

// FuzzShapeGuard runs the guard and, where it lets the input through, the
// whole loader, and holds every input to the time and memory bounds.
func FuzzShapeGuard(f *testing.F) {
	fuzzSeeds(f, "../testdata/registry/*.yaml")
	fuzzSeeds(f, "../configs/*.yaml")
	for _, in := range []string{
		"x: -\"\ny: [[[[]]]]\n", "x: 'a'' [a, \"b'\n", "x: -|\n  y: [[]]\n", "x: |\n    a\n  y: [[\n",
		"x: {a:\"b\"}\n", "x: &a \"[\"\n", "- ? : - [{\n", "a: !t '{'\n",
	} {
		f.Add([]byte(in))
	}
	pol, err := os.ReadFile(examplePolicy)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Grow small inputs so that shapes are tried at a size where a
		// quadratic cost shows: the input repeated up to about 32 KiB.
		in := data
		if len(data) > 0 && len(data) < 1<<10 {
			in = []byte(strings.Repeat(string(data), (32<<10)/len(data)))
		}
		for _, reg := range [][]byte{data, in} {
			checkBounds(t, reg, pol)
		}
	})
}

// TestJSONShapeCaps: the policy is held to the registry's caps, with the
// position of the first member past them.
func TestJSONShapeCaps(t *testing.T) {
	members := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(`"e` + strconv.Itoa(i) + `": 60`)
		}
		return b.String()
	}
	items := func(n int) string { return strings.TrimSuffix(strings.Repeat(`"openai",`, n), ",") }
	for name, c := range map[string]struct {
		pol       string
		line, col int
		msg       string
	}{
		"64000 keys":      {`{"ttl_caps_seconds": {` + members(64000) + `}}`, maxSiblings + 1, 1, "more than 256 keys"},
		"257 keys":        {`{"ttl_caps_seconds": {` + members(maxSiblings+1) + `}}`, maxSiblings + 1, 1, "more than 256 keys"},
		"257 items":       {`{"allowed_secrets": [` + items(maxSiblings+1) + `]}`, 1, 22 + 9*maxSiblings, "more than 256 keys"},
		"33 levels":       {`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 1, 38, "nested deeper than 32"},
		"too many values": {`{"a": [` + strings.Repeat("["+items(100)+"],", 100) + `1]}`, 1, 0, "more than 4096 values"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte("{}"), "p.json", []byte(c.pol))
			var ps Problems
			if !errorsAs(err, &ps) {
				t.Fatalf("not refused: %v", err)
			}
			var found bool
			for _, p := range ps {
				if p.File == "p.json" && strings.Contains(p.Msg, c.msg) {
					found = true
					if p.Line != c.line || (c.col > 0 && p.Column != c.col) {
						t.Errorf("at %d:%d, want %d:%d", p.Line, p.Column, c.line, c.col)
					}
				}
			}
			if !found {
				t.Fatalf("no %q problem in:\n%v", c.msg, err)
			}
			assertNoValue(t, fakeKey, err.Error())
		})
	}
	// 256 keys are within the caps.
	_, err := Parse("r.yaml", []byte("{}"), "p.json", []byte(`{"ttl_caps_seconds": {`+members(maxSiblings)+`}}`))
	if err != nil && strings.Contains(err.Error(), "more than") {
		t.Fatalf("256 keys refused: %v", err)
	}
}

func errorsAs(err error, ps *Problems) bool { return errors.As(err, ps) }
