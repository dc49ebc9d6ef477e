package smfake_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/smfake"
)

// TestRotationOperations drives the four rotation steps with the real SDK:
// PutSecretValue(AWSPENDING) idempotent per ClientRequestToken, the stage
// moves, ListSecretVersionIds, DescribeSecret, Tag/UntagResource.
func TestRotationOperations(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := context.Background()
	sm := c("us-east-1")
	_, oldID := s.Put("us-east-1", "openai/ci", smfake.Value{String: value1})
	const token = "keylease-rotation-0001-0000-000000000000"
	put := func(v string) (*secretsmanager.PutSecretValueOutput, error) {
		return sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("openai/ci"),
			SecretString: aws.String(v), ClientRequestToken: aws.String(token), VersionStages: []string{smfake.StagePending}})
	}
	out, err := put(value2)
	if err != nil || aws.ToString(out.VersionId) != token || !slices.Equal(out.VersionStages, []string{smfake.StagePending}) {
		t.Fatalf("put pending: %v %+v", err, out)
	}
	// Same token, same value: a no-op success. Same token, other value: refused.
	if _, err := put(value2); err != nil {
		t.Fatalf("idempotent retry failed: %v", err)
	}
	if _, err := put(value1); code(err) != "ResourceExistsException" {
		t.Fatalf("same token, other value: %v, want ResourceExistsException", err)
	}
	if st := s.Stages("us-east-1", "openai/ci"); !slices.Equal(st[oldID], []string{smfake.StageCurrent}) || !slices.Equal(st[token], []string{smfake.StagePending}) {
		t.Fatalf("stages after put: %v", st)
	}
	// Moving AWSCURRENT needs RemoveFromVersionId; the old version becomes AWSPREVIOUS.
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("openai/ci"),
		VersionStage: aws.String(smfake.StageCurrent), MoveToVersionId: aws.String(token)}); code(err) != "InvalidParameterException" {
		t.Fatalf("move without RemoveFromVersionId: %v", err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("openai/ci"),
		VersionStage: aws.String(smfake.StageCurrent), MoveToVersionId: aws.String(token), RemoveFromVersionId: aws.String(oldID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("openai/ci"),
		VersionStage: aws.String(smfake.StagePending), RemoveFromVersionId: aws.String(token)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("openai/ci")}); err != nil {
		t.Fatal(err)
	}
	lv, err := sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("openai/ci")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	var accessed int
	for _, v := range lv.Versions {
		got[aws.ToString(v.VersionId)] = v.VersionStages
		if v.LastAccessedDate != nil {
			accessed++
			if v.LastAccessedDate.UTC().Hour() != 0 || aws.ToString(v.VersionId) != token {
				t.Errorf("LastAccessedDate %v on %s: want the date of the read version only", v.LastAccessedDate, aws.ToString(v.VersionId))
			}
		}
	}
	if !slices.Equal(got[token], []string{smfake.StageCurrent}) || !slices.Equal(got[oldID], []string{smfake.StagePrevious}) || accessed != 1 {
		t.Fatalf("versions %v, %d accessed", got, accessed)
	}
	if _, err := sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("openai/ci"),
		Tags: []types.Tag{{Key: aws.String("keylease:retire-pending"), Value: aws.String("x")}, {Key: aws.String("team"), Value: aws.String("ml")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String("openai/ci"), TagKeys: []string{"keylease:retire-pending"}}); err != nil {
		t.Fatal(err)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("openai/ci")})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "team" || !slices.Equal(d.VersionIdsToStages[token], []string{smfake.StageCurrent}) || d.LastAccessedDate == nil {
		t.Fatalf("describe: tags %v stages %v accessed %v", d.Tags, d.VersionIdsToStages, d.LastAccessedDate)
	}
	// Counters and faults per operation.
	if n := s.Faults.Count(smfake.OpPutSecretValue); n != 3 {
		t.Errorf("PutSecretValue count %d, want 3", n)
	}
	s.Faults.Add(fault.Rule{Op: smfake.OpUpdateSecretVersionStage, Kind: fault.Throttle, Times: 1})
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("openai/ci"),
		VersionStage: aws.String("X"), MoveToVersionId: aws.String(token)}); code(err) != "ThrottlingException" {
		t.Fatalf("fault: %v", err)
	}
}
