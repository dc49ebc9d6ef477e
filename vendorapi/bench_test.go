package vendorapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// BenchmarkOpenAIList250 lists 250 service accounts at 100 a page: 3 calls.
func BenchmarkOpenAIList250(b *testing.B) {
	f, err := vendorfake.StartOpenAI()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: env(map[string]string{"OPENAI_BASE_URL": f.BaseURL()})})
	if err != nil {
		b.Fatal(err)
	}
	admin := f.AddAdminKey()
	proj := c.Project(secret.FromString(admin), "p")
	ctx := context.Background()
	for i := range 250 {
		if _, err := proj.Mint(ctx, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	f.Faults.ResetCounts()
	b.ResetTimer()
	for b.Loop() {
		if _, err := proj.List(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Faults.Count(vendorfake.OpOpenAIListServiceAccounts))/float64(b.N), "calls/op")
}

// BenchmarkCheck is one validity round trip per vendor.
func BenchmarkCheck(b *testing.B) {
	f, err := vendorfake.StartXAI()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := vendorapi.NewXAI(vendorapi.Options{Getenv: env(map[string]string{"XAI_BASE_URL": f.BaseURL()})})
	if err != nil {
		b.Fatal(err)
	}
	_, key := f.AddKey("t", "k", false)
	v := secret.FromString(key)
	for b.Loop() {
		if verdict, err := c.Check(context.Background(), v); verdict != vendorapi.Valid {
			b.Fatal(verdict, err)
		}
	}
}
