package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keylease/keylease/internal/testkit"
)

func init() { e2eMoreModes["floor"] = floorJob }

// floorJob is the least a lease of FLOOR_IDS can cost: one process start,
// the runner's OIDC token GET, one STS AssumeRoleWithWebIdentity and
// ⌈N/20⌉ Secrets Manager calls, with the same SDK and emulators keylease
// uses, and nothing else (no verification, masking, child or record).
func floorJob() int {
	ctx := context.Background()
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "floor: %s: %v\n", what, err)
		return 1
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL")+"&audience=sts.amazonaws.com", nil) //nolint:gosec // G704: the loopback emulator's URL
	if err != nil {
		return fail("token request", err)
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // G704: the loopback emulator's URL
	if err != nil {
		return fail("token", err)
	}
	var tok struct {
		Value string `json:"value"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	_ = resp.Body.Close()
	if err != nil || tok.Value == "" {
		return fail("token body", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(os.Getenv("AWS_REGION")),
		config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	if err != nil {
		return fail("aws config", err)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(os.Getenv("KEYLEASE_ROLE_ARN")), RoleSessionName: aws.String("floor"),
		WebIdentityToken: aws.String(tok.Value), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		return fail("sts", err)
	}
	c := out.Credentials
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	})
	ids := strings.Split(os.Getenv("FLOOR_IDS"), ",")
	if len(ids) == 1 {
		if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ids[0])}); err != nil {
			return fail("secretsmanager", err)
		}
		return 0
	}
	for i := 0; i < len(ids); i += 20 {
		b, err := sm.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids[i:min(i+20, len(ids))]})
		if err != nil || len(b.Errors) > 0 {
			return fail("secretsmanager batch", err)
		}
	}
	return 0
}

// BenchmarkLeaseVsFloor runs, N times per sub-benchmark and in turn, the
// floor of a lease (floorJob: process start + token + STS + Secrets
// Manager) and the real binary's `keylease exec` of the same refs with a
// child that exits at once, as under GitHub Actions (::add-mask::, summary,
// outputs, record). It reports medians:
//
//	ms-floor/op, ms-keylease/op     wall time of one run
//	x-floor                         ms-keylease / ms-floor
//	cpu-ms-floor/op, cpu-ms-keylease/op
//	                                user+system CPU of the process (keylease's
//	                                less its child's, measured alone)
//
// go test -run '^$' -bench LeaseVsFloor -benchtime 20x ./cmd/keylease
func BenchmarkLeaseVsFloor(b *testing.B) {
	for _, refs := range []int{1, 5, 45, 200} {
		b.Run(fmt.Sprintf("refs=%d", refs), func(b *testing.B) {
			r := newE2E(b)
			args := []string{"exec", "--env", "ci"}
			ids := make([]string, 0, refs)
			for i := range refs {
				k, err := fakeKey("bk-", 40)
				testkit.Must(b, err)
				name := fmt.Sprintf("bench/ci/key%d", i)
				r.stack.Seed(name, k)
				ids = append(ids, name)
				args = append(args, "--ref", fmt.Sprintf("BENCH_KEY_%d=kv://%s", i, name))
			}
			self, err := os.Executable()
			testkit.Must(b, err)
			args = append(args, "--", self, "-test.run=^$")
			r.env["FLOOR_IDS"] = strings.Join(ids, ",")
			env := make([]string, 0, len(r.env))
			for k, v := range r.env {
				if k != "E2E_CHILD" {
					env = append(env, k+"="+v)
				}
			}
			runOnce := func(extra []string, name string, argv ...string) (wall, cpu time.Duration) {
				cmd := exec.Command(name, argv...)
				cmd.Env = append(env, extra...)
				var errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = io.Discard, &errb
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v\n%s", name, err, errb.Bytes())
				}
				wall = time.Since(start)
				return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			var floorW, floorC, leaseW, leaseC, childC []float64
			b.ResetTimer()
			for range b.N {
				w, c := runOnce([]string{"E2E_CHILD=floor"}, self, "-test.run=^$")
				floorW, floorC = append(floorW, ms(w)), append(floorC, ms(c))
				_, c = runOnce([]string{"E2E_CHILD=exit0"}, self, "-test.run=^$")
				childC = append(childC, ms(c))
				w, c = runOnce([]string{"E2E_CHILD=exit0"}, keyleaseBin, args...)
				leaseW, leaseC = append(leaseW, ms(w)), append(leaseC, ms(c))
			}
			b.StopTimer()
			b.ReportMetric(median(floorW), "ms-floor/op")
			b.ReportMetric(median(leaseW), "ms-keylease/op")
			b.ReportMetric(median(leaseW)/median(floorW), "x-floor")
			b.ReportMetric(median(floorC), "cpu-ms-floor/op")
			b.ReportMetric(median(leaseC)-median(childC), "cpu-ms-keylease/op")
			b.ReportMetric(0, "ns/op") // three processes per iteration; see the medians
		})
	}
}
