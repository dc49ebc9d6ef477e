package registry

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkParse measures a real configuration and two 1 MiB shapes the
// guard refuses before parsing (too many lines), i.e. the guard's own cost.
func BenchmarkParse(b *testing.B) {
	reg, err := os.ReadFile(exampleRegistry)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := os.ReadFile(examplePolicy)
	if err != nil {
		b.Fatal(err)
	}
	var wide strings.Builder
	for v := 0; v < maxSiblings-1; v++ {
		wide.WriteString("v" + strings.Repeat("x", v%7) + string(rune('a'+v%26)) + "_" + strconv.Itoa(v) + ":\n")
		for e := 0; e < maxSiblings-1 && wide.Len() < MaxFileSize-64; e++ {
			wide.WriteString("  e" + strconv.Itoa(e) + ": 1\n")
		}
	}
	cases := []struct {
		name string
		reg  []byte
	}{
		{"example", reg},
		{"sequence-1MiB", []byte(strings.Repeat("- a\n", MaxFileSize/4))},
		{"wide-nested", []byte(wide.String())},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.reg)))
			for b.Loop() {
				_, _ = Parse("r.yaml", c.reg, "p.json", pol)
			}
		})
	}
}

// BenchmarkLoad measures Load of the example registry and policy with the
// schemas already compiled (every Load after the first in a process), and
// the one-time compilation the first Load adds.
func BenchmarkLoad(b *testing.B) {
	b.Run("warm", func(b *testing.B) {
		if _, err := compiled(); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Load(exampleRegistry, examplePolicy); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("schema-compile", func(b *testing.B) {
		for b.Loop() {
			if _, err := compileSchemas(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
