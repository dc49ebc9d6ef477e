package lifecycle

import (
	"context"
	"io"
	"testing"

	"github.com/keylease/keylease/lease"
)

// BenchmarkRotate is one full mint rotation (lease of the admin key through
// OIDC → STS → Secrets Manager, mint, test, promote, retire with
// --retire-after 0, registry write, record) against the loopback emulators;
// starting the emulators is not timed.
func BenchmarkRotate(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b)
		o := w.options()
		b.StartTimer()
		if _, err := RunRotate(context.Background(), o, lease.IO{Stdout: io.Discard, Stderr: io.Discard, Getenv: w.getenv, Environ: func() []string { return nil }}); err != nil {
			b.Fatal(err)
		}
	}
}
