package safetext

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkTextSummary guards a job summary of 200 leases (the largest
// --refs a lease is meant to scale to).
func BenchmarkTextSummary(b *testing.B) {
	var s strings.Builder
	for i := range 200 {
		fmt.Fprintf(&s, "| `VAR_%d_API_KEY` | vendor%d | `kv://vendor%d/ci/api_key` | ci | 900s | 2026-12-01T13:00:00Z | 3f2a9c1e-7b4d-4e8a-9f1c-2d3e4f5a6b7c | leased |\n", i, i, i)
	}
	text := s.String()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Guard{}.Text(text)
	}
}
