package masking

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/coregx/ahocorasick"

	"github.com/keylease/keylease/secret"
)

// benchSecrets are ten values shaped like the credentials keylease leases
// (about 150 distinct forms).
func benchSecrets() []string {
	return []string{
		"sk-proj-" + fakeKey(101, 148, keyAlpha),
		"sk-ant-api03-" + fakeKey(102, 93, keyAlpha) + "AA",
		"xai-" + fakeKey(103, 80, alnumChars),
		"sk-svcacct-" + fakeKey(104, 120, keyAlpha),
		fakeKey(105, 40, alnumChars+"+/"), // AWS secret access key
		"ghs_" + fakeKey(106, 36, alnumChars),
		"IQoJb3JpZ2luX2VjE" + fakeKey(107, 300, alnumChars+"+/"), // STS session token (shortened)
		fakeJWT(),
		`db-P@ss"w0rd'&<x>%/` + fakeKey(108, 24, alnumChars), // a password with characters every encoding treats differently
		"-----BEGIN EC PRIVATE KEY-----\n" + fakeKey(110, 64, alnumChars+"+/") + "\n" + fakeKey(111, 56, alnumChars+"+/") + "==\n-----END EC PRIVATE KEY-----",
	}
}

var logWords = []string{"INFO", "DEBUG", "WARN", "request", "completed", "status=200", "path=/v1/chat/completions",
	"user=octocat", "duration_ms=12", "retrying", "connection", "model=gpt-4o", "tokens=1532", "{\"id\":\"chatcmpl-",
	"func main() {", "return err", "if err != nil {", "package main", "import (", "\"fmt\"", "the", "of", "and",
	"running", "tests", "ok", "PASS", "--- FAIL:", "go test ./...", "npm run build", "Compiling", "warning:",
	"/home/runner/work/app/app/src/index.ts", "0x7ffd5c2e", "sha256:9f86d081884c7d65", "2026-11-28T15:04:05Z"}

// benchCorpus is n bytes of deterministic mixed output: log lines, source,
// JSON and some binary; every form of every value in forms appears once in
// roughly each 64 KiB when embed is set.
func benchCorpus(n int, forms [][]byte, binary bool) []byte {
	r := rand.New(rand.NewPCG(42, 42)) // #nosec G404 -- deterministic corpus on purpose
	var b bytes.Buffer
	b.Grow(n + 1024)
	next := 0
	for b.Len() < n {
		switch k := r.IntN(100); {
		case binary && k < 3:
			blk := make([]byte, 512+r.IntN(2048))
			for i := range blk {
				blk[i] = byte(r.Uint32()) // #nosec G115 -- truncation wanted
			}
			b.Write(blk)
		case k < 8:
			fmt.Fprintf(&b, `{"id":%d,"name":"item-%d","tags":["a","b"],"ok":true,"v":%0.3f}`+"\n", r.IntN(1e6), r.IntN(1e4), r.Float64())
		default:
			for w := 5 + r.IntN(12); w > 0; w-- {
				b.WriteString(logWords[r.IntN(len(logWords))])
				b.WriteByte(' ')
			}
			b.WriteByte('\n')
		}
		if len(forms) > 0 && r.IntN(600) == 0 {
			b.WriteString("leak: ")
			b.Write(forms[next%len(forms)])
			b.WriteByte('\n')
			next++
		}
	}
	return b.Bytes()[:n]
}

func benchSet(b *testing.B) (*Set, [][]byte) {
	b.Helper()
	s := newSetOf(b, Options{}, benchSecrets()...)
	return s, s.forms
}

const benchWrite = 64 << 10

// writeChunks is the benchmark loop: one write of w bytes of data to r per
// iteration, going round data.
func writeChunks(b *testing.B, r io.Writer, data []byte, w int) {
	b.SetBytes(int64(w))
	off := 0
	for b.Loop() {
		if off+w > len(data) {
			off = 0
		}
		if _, err := r.Write(data[off : off+w]); err != nil {
			b.Fatal(err)
		}
		off += w
	}
}

// BenchmarkRedactor pushes 64 KiB writes of log-like output holding the
// forms of ten values (233 patterns) through a Redactor.
func BenchmarkRedactor(b *testing.B) {
	s, forms := benchSet(b)
	data := benchCorpus(4<<20, forms, false)
	r := s.NewRedactor(io.Discard)
	writeChunks(b, r, data, benchWrite)
	_ = r.Close()
	values, nforms := s.Stats()
	b.ReportMetric(float64(values), "values")
	b.ReportMetric(float64(nforms), "patterns")
}

// BenchmarkRedactorSmallWrites: 256-byte writes (a child printing line by
// line) take the automaton path.
func BenchmarkRedactorSmallWrites(b *testing.B) {
	s, forms := benchSet(b)
	data := benchCorpus(4<<20, forms, false)
	r := s.NewRedactor(io.Discard)
	writeChunks(b, r, data, 256)
	_ = r.Close()
}

// BenchmarkRedactorNaive is the baseline: one bytes.Index pass per pattern
// over each 64 KiB write (and it does not even handle split forms).
func BenchmarkRedactorNaive(b *testing.B) {
	_, forms := benchSet(b)
	data := benchCorpus(4<<20, forms, false)
	b.SetBytes(benchWrite)
	out := make([]byte, 0, benchWrite)
	var spans []span
	off := 0
	for b.Loop() {
		if off+benchWrite > len(data) {
			off = 0
		}
		chunk := data[off : off+benchWrite]
		off += benchWrite
		spans = spans[:0]
		for _, f := range forms {
			for i := 0; ; {
				j := bytes.Index(chunk[i:], f)
				if j < 0 {
					break
				}
				spans = append(spans, span{int64(i + j), int64(i + j + len(f))})
				i += j + 1
			}
		}
		spans = merge(spans)
		out = out[:0]
		prev := int64(0)
		for _, s := range spans {
			out = append(out, chunk[prev:s.start]...)
			out = append(out, mask...)
			prev = s.end
		}
		out = append(out, chunk[prev:]...)
		_, _ = io.Discard.Write(out)
	}
}

// BenchmarkRedactorNoSecrets: an empty Set makes the Redactor a pass-through.
func BenchmarkRedactorNoSecrets(b *testing.B) {
	data := benchCorpus(4<<20, nil, false)
	r := NewSet(Options{}).NewRedactor(io.Discard)
	writeChunks(b, r, data, benchWrite)
}

// BenchmarkMatcher compares finding every form in 64 KiB buffers with our
// matcher (skip scan + trie) and with github.com/coregx/ahocorasick, which
// has no resumable state for streams; shown so the choice is measured.
func BenchmarkMatcher(b *testing.B) {
	_, forms := benchSet(b)
	data := benchCorpus(4<<20, forms, false)
	m := newMatcher(forms)
	overlapping, err := ahocorasick.NewBuilder().AddPatterns(forms).Build()
	if err != nil {
		b.Fatal(err)
	}
	longest, err := ahocorasick.NewBuilder().SetMatchKind(ahocorasick.LeftmostLongest).AddPatterns(forms).Build()
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, find func([]byte) int) {
		b.SetBytes(benchWrite)
		off, total := 0, 0
		for b.Loop() {
			if off+benchWrite > len(data) {
				off = 0
			}
			total += find(data[off : off+benchWrite])
			off += benchWrite
		}
		b.ReportMetric(float64(total)/float64(b.N), "matches/op")
	}
	var sp []span
	b.Run("keylease", func(b *testing.B) {
		run(b, func(c []byte) int { sp = m.scan(c, 0, sp[:0]); return len(sp) })
	})
	b.Run("keylease-automaton", func(b *testing.B) {
		run(b, func(c []byte) int { _, sp = m.feed(0, c, 0, sp[:0]); return len(sp) })
	})
	b.Run("coregx-overlapping", func(b *testing.B) {
		run(b, func(c []byte) int { return len(overlapping.FindAllOverlapping(c)) })
	})
	b.Run("coregx-leftmost-longest", func(b *testing.B) {
		run(b, func(c []byte) int { return len(longest.FindAll(c, -1)) })
	})
}

// benchFingerprints are ten digests of values of the lengths vendor keys
// have (the old list form hashes every token; the length form only these).
var (
	benchFingerprints       = map[string]string{}
	benchFingerprintLengths = []int{40, 51, 56, 68, 108, 164}
)

func init() {
	for i, n := range benchFingerprintLengths {
		benchFingerprints[sumHex(fakeKey(uint64(900+i), n, alnumChars))] = fmt.Sprintf("kv://bench/ci/k%d", i)
	}
}

// BenchmarkScanner scans a 100 MB mixed corpus (logs, JSON, source, binary)
// with the exact forms of ten values and the vendor detectors.
func BenchmarkScanner(b *testing.B) {
	s, forms := benchSet(b)
	scanCorpus := benchCorpus(100<<20, forms, true)
	for _, tc := range []struct {
		name string
		opts ScanOptions
	}{
		{"exact+detectors", ScanOptions{Set: s, Detectors: true}},
		{"detectors", ScanOptions{Detectors: true}},
		{"detectors+fingerprints", ScanOptions{Detectors: true, Fingerprints: benchFingerprints}},
		{"detectors+fingerprints-len", ScanOptions{Detectors: true, Fingerprints: benchFingerprints, FingerprintLengths: benchFingerprintLengths}},
		{"exact+detectors+fingerprints", ScanOptions{Set: s, Detectors: true,
			Fingerprints: map[string]string{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08": "kv://x"}}},
		{"exact+detectors+fingerprints-len", ScanOptions{Set: s, Detectors: true, Fingerprints: benchFingerprints, FingerprintLengths: benchFingerprintLengths}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sc := NewScanner(tc.opts)
			b.SetBytes(int64(len(scanCorpus)))
			n := 0
			for b.Loop() {
				n = len(sc.Scan(scanCorpus))
			}
			b.ReportMetric(float64(n), "findings")
		})
	}
}

// BenchmarkRedactorMemory1GB pushes 1 GiB through a Redactor in 64 KiB writes
// and samples the heap: memory must not grow with the stream. It runs as a
// benchmark (one iteration is the whole GiB) so the unit tests stay fast.
func BenchmarkRedactorMemory1GB(b *testing.B) {
	s, forms := benchSet(b)
	data := benchCorpus(8<<20, forms, false)
	const total = 1 << 30
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		start := ms.HeapInuse
		peak := start
		r := s.NewRedactor(io.Discard)
		for off := 0; off < total; off += benchWrite {
			o := off % len(data)
			if o+benchWrite > len(data) {
				o = 0
			}
			if _, err := r.Write(data[o : o+benchWrite]); err != nil {
				b.Fatal(err)
			}
			if off%(64<<20) == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(peak-start)/(1<<20), "growth-MB")
		b.ReportMetric(float64(r.Redactions()), "redactions")
		if peak > 16<<20 {
			b.Fatalf("heap peaked at %d MiB pushing 1 GiB, want < 16 MiB", peak>>20)
		}
	}
	b.SetBytes(total)
}

var _ = base64.StdEncoding

// BenchmarkSetAdd adds n values shaped like a lease's (the OIDC token, STS
// credentials, one key per ref) to a new Set and sanitizes one string, as a
// lease does: the cost must grow linearly with n (the matcher is built once,
// on first use, not once per value).
func BenchmarkSetAdd(b *testing.B) {
	for _, n := range []int{1, 5, 45, 200} {
		vals := make([]secret.Value, n)
		for i := range vals {
			vals[i] = secret.FromString("sk-proj-" + fakeKey(uint64(1000+i), 148, keyAlpha)) // #nosec G115 -- small i
		}
		msg := "keylease: fetching ref 3 of 45 failed: AccessDeniedException: not authorized"
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			for b.Loop() {
				s := NewSet(Options{})
				for _, v := range vals {
					if err := s.Add(v); err != nil {
						b.Fatal(err)
					}
				}
				if got := s.Sanitize(msg); got != msg {
					b.Fatal("a value-free message changed")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
		})
	}
}
