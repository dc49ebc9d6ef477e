package registry

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkParse measures a real configuration and the slowest 1 MiB shapes
// the parser still accepts (deeper or wider ones are refused before parsing).
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
