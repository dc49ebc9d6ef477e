package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
	"github.com/keylease/keylease/internal/testkit"
)

// BenchmarkExecOverhead runs the built keylease binary against the loopback
// emulators N times per sub-benchmark, each time next to the same child run
// directly, and reports medians:
//
//	ms-direct/op    the child alone (the test binary, exiting at once)
//	ms-keylease/op  keylease exec (OIDC token, STS, Secrets Manager, masks, child, record)
//	ms-overhead/op  median of the per-iteration differences
//	trips/op        token + STS + Secrets Manager calls per run
//	discovery/op    OIDC discovery + JWKS fetches per run (once per process)
//
// go test -run '^$' -bench ExecOverhead -benchtime 50x ./cmd/keylease
func BenchmarkExecOverhead(b *testing.B) {
	for _, refs := range []int{1, 10} {
		b.Run(fmt.Sprintf("refs=%d", refs), func(b *testing.B) {
			r := newE2E(b)
			delete(r.env, "GITHUB_ACTIONS") // a terminal-like run: no ::add-mask:: traffic to parse
			r.env["E2E_CHILD"] = "exit0"
			args := []string{"exec", "--env", "ci"}
			for i := range refs {
				k, err := fakeKey("bk-", 40)
				testkit.Must(b, err)
				name := fmt.Sprintf("bench/ci/key%d", i)
				r.stack.Seed(name, k)
				args = append(args, "--ref", fmt.Sprintf("BENCH_KEY_%d=kv://%s", i, name))
			}
			self, err := os.Executable()
			testkit.Must(b, err)
			args = append(args, "--", self, "-test.run=^$")
			env := make([]string, 0, len(r.env))
			for k, v := range r.env {
				env = append(env, k+"="+v)
			}
			runOnce := func(name string, argv ...string) time.Duration {
				cmd := exec.Command(name, argv...)
				cmd.Env = env
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", name, err, out)
				}
				return time.Since(start)
			}
			r.stack.OIDC.Faults.ResetCounts()
			r.stack.STS.Faults.ResetCounts()
			r.stack.SM.Faults.ResetCounts()
			var direct, wrapped, over []float64
			b.ResetTimer()
			for range b.N {
				d := runOnce(self, "-test.run=^$")
				w := runOnce(keyleaseBin, args...)
				direct = append(direct, ms(d))
				wrapped = append(wrapped, ms(w))
				over = append(over, ms(w-d))
			}
			b.StopTimer()
			n := float64(b.N)
			trips := r.stack.OIDC.Faults.Count(oidcfake.OpToken) + r.stack.STS.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity) +
				r.stack.SM.Faults.Count(smfake.OpGetSecretValue) + r.stack.SM.Faults.Count(smfake.OpBatchGetSecretValue)
			disc := r.stack.OIDC.Faults.Count(oidcfake.OpDiscovery) + r.stack.OIDC.Faults.Count(oidcfake.OpJWKS)
			b.ReportMetric(median(direct), "ms-direct/op")
			b.ReportMetric(median(wrapped), "ms-keylease/op")
			b.ReportMetric(median(over), "ms-overhead/op")
			b.ReportMetric(float64(trips)/n, "trips/op")
			b.ReportMetric(float64(disc)/n, "discovery/op")
			b.ReportMetric(0, "ns/op") // wall per iteration is meaningless here (two runs); see the medians
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
