package smfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/keylease/keylease/internal/smfake"
)

const (
	akid   = "AKIAKEYLEASETEST0001"
	skey   = "c2VjcmV0LWtleS1mb3ItdGhlLXRlc3RzLTAxMjM0NTY3"
	value1 = "sk-proj-first-value-0123456789"
	value2 = "sk-proj-second-value-0123456789"
)

func setup(t *testing.T) (*smfake.Server, func(region string) *secretsmanager.Client) {
	t.Helper()
	s, err := smfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.AddStaticKey(akid, skey)
	return s, func(region string) *secretsmanager.Client { return client(s.URL(), region, akid, skey, "") }
}

func client(url, region, id, key, token string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region: region, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: token}, nil
		}),
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// Rotation semantics: a pending version, then AWSCURRENT moved to it; the
// old current becomes AWSPREVIOUS.
func TestStagesAndDescribe(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	sm := c("us-east-1")
	ctx := context.Background()
	cr, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("kv/openai/ci"), SecretString: aws.String(value1),
		Tags: []types.Tag{{Key: aws.String("vendor"), Value: aws.String("openai")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(cr.ARN), "arn:aws:secretsmanager:us-east-1:123456789012:secret:kv/openai/ci-") || len(aws.ToString(cr.ARN)) != len("arn:aws:secretsmanager:us-east-1:123456789012:secret:kv/openai/ci-")+6 {
		t.Errorf("ARN = %q", aws.ToString(cr.ARN))
	}
	v1 := aws.ToString(cr.VersionId)
	put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("kv/openai/ci"), SecretString: aws.String(value2), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	v2 := aws.ToString(put.VersionId)
	get := func(stage string) string {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: cr.ARN, VersionStage: aws.String(stage)})
		if err != nil {
			t.Fatalf("get %s: %v", stage, err)
		}
		return aws.ToString(out.SecretString)
	}
	if get("AWSCURRENT") != value1 || get("AWSPENDING") != value2 {
		t.Fatal("stages hold the wrong values")
	}
	// Moving AWSCURRENT without RemoveFromVersionId is refused, as in AWS.
	_, err = sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("kv/openai/ci"), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v2)})
	if code(err) != "InvalidParameterException" {
		t.Fatalf("move without RemoveFromVersionId: %v", err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String("kv/openai/ci"), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v2), RemoveFromVersionId: aws.String(v1),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String("kv/openai/ci"), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(v2),
	}); err != nil {
		t.Fatal(err)
	}
	if get("AWSCURRENT") != value2 || get("AWSPREVIOUS") != value1 {
		t.Fatal("AWSCURRENT did not move or AWSPREVIOUS was not kept")
	}
	if _, err := sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("kv/openai/ci"), Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("platform")}}}); err != nil {
		t.Fatal(err)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("kv/openai/ci")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}
	if fmt.Sprint(d.VersionIdsToStages) != fmt.Sprint(want) {
		t.Errorf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
	}
	if d.LastAccessedDate == nil || d.LastRotatedDate == nil || time.Since(*d.LastRotatedDate) > time.Minute || len(d.Tags) != 2 {
		t.Errorf("describe: accessed %v rotated %v tags %d", d.LastAccessedDate, d.LastRotatedDate, len(d.Tags))
	}
}

func TestBatchAndErrors(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	s.Put("us-east-1", "a", smfake.Value{String: value1})
	arnB, _ := s.Put("us-east-1", "b", smfake.Value{Binary: []byte{0, 1, 2, 255}})
	sm := c("us-east-1")
	ctx := context.Background()
	out, err := sm.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"a", arnB, "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecretValues) != 2 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].ErrorCode) != "ResourceNotFoundException" || aws.ToString(out.Errors[0].SecretId) != "missing" {
		t.Fatalf("batch = %d values, errors %+v", len(out.SecretValues), out.Errors)
	}
	if !bytes.Equal(out.SecretValues[1].SecretBinary, []byte{0, 1, 2, 255}) {
		t.Error("binary value did not round-trip")
	}
	var ids []string
	for i := range 21 {
		ids = append(ids, fmt.Sprint(i))
	}
	if _, err := sm.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids}); code(err) != "ValidationException" {
		t.Errorf("21 ids: %v", err)
	}
	// Stores are per region.
	if _, err := c("eu-west-1").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("a")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("other region: %v", err)
	}
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("a")}); code(err) != "InvalidRequestException" {
		t.Errorf("deleted secret: %v", err)
	}
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("b"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("b")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("force-deleted secret: %v", err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("c"), SecretString: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("c"), SecretString: aws.String("x")}); code(err) != "ResourceExistsException" {
		t.Errorf("duplicate create: %v", err)
	}
}

func TestListSecretsPages(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	for i := range 5 {
		s.Put("us-east-1", fmt.Sprintf("s%d", i), smfake.Value{String: "v"})
	}
	p := secretsmanager.NewListSecretsPaginator(c("us-east-1"), &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(2)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.SecretList {
			names = append(names, aws.ToString(e.Name))
		}
	}
	if pages != 3 || strings.Join(names, ",") != "s0,s1,s2,s3,s4" {
		t.Errorf("pages %d names %v", pages, names)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	s.Put("us-east-1", "a", smfake.Value{String: value1})
	s.SetKeyLookup(func(id string) (smfake.Key, bool) {
		switch id {
		case "ASIASESSION000000001":
			return smfake.Key{SecretAccessKey: skey, SessionToken: "session-token-1", Expires: time.Now().Add(time.Hour)}, true
		case "ASIAEXPIRED000000001":
			return smfake.Key{SecretAccessKey: skey, SessionToken: "session-token-2", Expires: time.Now().Add(-time.Minute)}, true
		}
		return smfake.Key{}, false
	})
	tests := []struct {
		name, id, key, token, want string
	}{
		{"static key", akid, skey, "", ""},
		{"session", "ASIASESSION000000001", skey, "session-token-1", ""},
		{"wrong session token", "ASIASESSION000000001", skey, "other", "UnrecognizedClientException"},
		{"expired session", "ASIAEXPIRED000000001", skey, "session-token-2", "ExpiredTokenException"},
		{"unknown key", "AKIAUNKNOWN000000001", skey, "", "UnrecognizedClientException"},
		{"wrong secret key", akid, "d3JvbmctLXNlY3JldC1rZXktMDEyMzQ1Njc4OWFiY2Q=", "", "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client(s.URL(), "us-east-1", tt.id, tt.key, tt.token).GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("a")})
			if code(err) != tt.want || (tt.want == "" && err != nil) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), tt.key) || strings.Contains(err.Error(), value1)) {
				t.Error("the error echoes a key or the value")
			}
		})
	}
	// A request that was not signed at all.
	req, _ := http.NewRequest(http.MethodPost, s.URL(), strings.NewReader(`{"SecretId":"a"}`))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var e map[string]string
	if err := json.Unmarshal(b, &e); err != nil || e["__type"] != "MissingAuthenticationTokenException" || e["message"] == "" || resp.StatusCode != 400 {
		t.Errorf("unsigned request: %d %s", resp.StatusCode, b)
	}
}
