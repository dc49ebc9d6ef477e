package exchange_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/emulators"
	"github.com/keylease/keylease/internal/smfake"
)

// BenchmarkLease10Refs is a whole lease of 10 refs in one region against the
// emulators: OIDC token (request + local verification with a warm provider),
// STS exchange, one BatchGetSecretValue. cpu-ms/op is the process's user+system
// CPU per lease, emulators included (they run in this process), so it
// overstates keylease's own share.
func BenchmarkLease10Refs(b *testing.B) {
	st, err := emulators.StartAll(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	var reqs []exchange.Request
	for i := range 10 {
		name := fmt.Sprintf("kv/bench/%d", i)
		st.SM.Put(st.Region, name, smfake.Value{String: fmt.Sprintf("sk-bench-%d-0123456789abcdefghij", i)})
		reqs = append(reqs, exchange.Request{Label: name, SecretID: name, RequiredPrefix: "sk-"})
	}
	l := &lease{stack: st}
	src := exchange.NewOIDC(exchange.OIDCConfig{RequestURL: st.OIDC.RequestURL(), RequestToken: secretOf(st.OIDC.RequestToken()), Issuer: st.OIDC.Issuer()})
	ctx := context.Background()
	one := func() {
		sess, err := exchange.AssumeRole(ctx, l.awsConfig(), src, st.RoleARN, "bench")
		if err != nil {
			b.Fatal(err)
		}
		got, err := exchange.NewFetcher(sess.Config(l.awsConfig())).Fetch(ctx, reqs)
		if err != nil || len(got) != 10 {
			b.Fatal(err)
		}
	}
	one() // warm the provider (discovery + JWKS) as a second lease in a process would find it
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		one()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
