package main

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
	"github.com/keylease/keylease/internal/testkit"
)

// BenchmarkExecModes runs the built keylease binary once per iteration for
// one OpenAI lease of each mode against the emulators and reports medians
// and calls per run:
//
//	ms-keylease/op  the whole exec (child: the test binary, exiting at once)
//	oidc/op         OIDC token requests; discovery/op discovery + JWKS fetches
//	aws/op          STS + Secrets Manager calls
//	vendor/op       OpenAI calls (the token exchange; or create + delete)
//
// go test -run '^$' -bench ExecModes -benchtime 30x ./cmd/keylease
func BenchmarkExecModes(b *testing.B) {
	for _, mode := range []struct{ name, env string }{{"stored", "ci"}, {"federated", "prod"}, {"minted", "eval"}} {
		b.Run(mode.name, func(b *testing.B) {
			w := newModes(b, modesRegistry)
			delete(w.env, "GITHUB_ACTIONS") // a terminal-like run: no ::add-mask:: traffic to parse
			w.env["E2E_CHILD"] = "exit0"
			_, stored := w.oa.AddKey("proj_ci", "ci", false)
			w.stack.Seed("openai/ci/api_key", stored)
			self, err := os.Executable()
			testkit.Must(b, err)
			args := []string{"exec", "--env", mode.env, "--vendor", "openai", "--", self, "-test.run=^$"}
			env := make([]string, 0, len(w.env))
			for k, v := range w.env {
				env = append(env, k+"="+v)
			}
			for _, f := range []interface{ ResetCounts() }{&w.stack.OIDC.Faults, &w.stack.STS.Faults, &w.stack.SM.Faults, &w.oa.Faults} {
				f.ResetCounts()
			}
			var wall []float64
			b.ResetTimer()
			for range b.N {
				cmd := exec.Command(keyleaseBin, args...)
				cmd.Env = env
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				wall = append(wall, ms(time.Since(start)))
			}
			b.StopTimer()
			n := float64(b.N)
			o, s, m := &w.stack.OIDC.Faults, &w.stack.STS.Faults, &w.stack.SM.Faults
			b.ReportMetric(median(wall), "ms-keylease/op")
			b.ReportMetric(float64(o.Count(oidcfake.OpToken))/n, "oidc/op")
			b.ReportMetric(float64(o.Count(oidcfake.OpDiscovery)+o.Count(oidcfake.OpJWKS))/n, "discovery/op")
			b.ReportMetric(float64(s.Count(stsfake.OpAssumeRoleWithWebIdentity)+m.Count(smfake.OpGetSecretValue)+m.Count(smfake.OpBatchGetSecretValue))/n, "aws/op")
			b.ReportMetric(float64(sumCounts(w.oa.Faults.Counts()))/n, "vendor/op")
			b.ReportMetric(0, "ns/op")
			if n := w.oa.ServiceAccounts("proj_eval"); n != 0 {
				b.Errorf("%d minted service account(s) left after the runs", n)
			}
		})
	}
}
