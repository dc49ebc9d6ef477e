package exchange

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keylease/keylease/secret"
)

// RotationStore is the Secrets Manager calls of a rotation (describe, read a
// version, put a labelled version, move a label, tag), on the same bounded, retrying
// clients as Fetcher. Errors are *Error: code and hint, never a value.
type RotationStore struct{ f *Fetcher }

// NewRotationStore uses awsCfg's credentials, endpoints and region.
func NewRotationStore(awsCfg aws.Config) *RotationStore {
	return &RotationStore{f: NewFetcher(awsCfg)}
}

// SecretState is what DescribeSecret says of a secret: version id → labels,
// and its tags.
type SecretState struct {
	ARN    string
	Stages map[string][]string
	Tags   map[string]string
}

// VersionWith returns the version carrying stage ("" when none).
func (s SecretState) VersionWith(stage string) string {
	ids := make([]string, 0, len(s.Stages))
	for id := range s.Stages {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, st := range s.Stages[id] {
			if st == stage {
				return id
			}
		}
	}
	return ""
}

func (r *RotationStore) client(id, region string) *secretsmanager.Client {
	return r.f.client(r.f.regionOf(Request{SecretID: id, Region: region}))
}

// Describe is DescribeSecret.
func (r *RotationStore) Describe(ctx context.Context, id, region string) (SecretState, error) {
	const op = "secretsmanager:DescribeSecret"
	out, err := r.client(id, region).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return SecretState{}, smError(ctx, op, err, r.f.regionOf(Request{SecretID: id, Region: region}), "")
	}
	st := SecretState{ARN: aws.ToString(out.ARN), Stages: out.VersionIdsToStages, Tags: map[string]string{}}
	for _, t := range out.Tags {
		st.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return st, nil
}

// Get reads version versionID. The caller registers the value with its
// maskers before anything else.
func (r *RotationStore) Get(ctx context.Context, id, region, versionID string) (secret.Value, error) {
	const op = "secretsmanager:GetSecretValue"
	out, err := r.client(id, region).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: aws.String(versionID)})
	if err != nil {
		return secret.Value{}, smError(ctx, op, err, r.f.regionOf(Request{SecretID: id, Region: region}), versionID)
	}
	if out.SecretString != nil {
		return secret.FromString(*out.SecretString), nil
	}
	v := secret.New(out.SecretBinary)
	clear(out.SecretBinary)
	return v, nil
}

// Put is PutSecretValue with VersionStages [stage] and token as
// ClientRequestToken: a retry with the same token and value is a no-op, so
// a rerun after a crash cannot create a second version. It returns the
// version id (the token).
func (r *RotationStore) Put(ctx context.Context, id, region, token, stage string, v secret.Value) (string, error) {
	const op = "secretsmanager:PutSecretValue"
	s := string(v.Bytes())
	out, err := r.client(id, region).PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id),
		SecretString: &s, ClientRequestToken: aws.String(token), VersionStages: []string{stage}})
	if err != nil {
		return "", smError(ctx, op, err, r.f.regionOf(Request{SecretID: id, Region: region}), stage)
	}
	return aws.ToString(out.VersionId), nil
}

// MoveStage is UpdateSecretVersionStage: stage moves to version to (""
// removes it) from version from ("" when no version holds it).
func (r *RotationStore) MoveStage(ctx context.Context, id, region, stage, to, from string) error {
	const op = "secretsmanager:UpdateSecretVersionStage"
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if to != "" {
		in.MoveToVersionId = aws.String(to)
	}
	if from != "" {
		in.RemoveFromVersionId = aws.String(from)
	}
	if _, err := r.client(id, region).UpdateSecretVersionStage(ctx, in); err != nil {
		return smError(ctx, op, err, r.f.regionOf(Request{SecretID: id, Region: region}), stage)
	}
	return nil
}

// Tag sets tags (ids and states, never values) on the secret.
func (r *RotationStore) Tag(ctx context.Context, id, region string, tags map[string]string) error {
	const op = "secretsmanager:TagResource"
	in := &secretsmanager.TagResourceInput{SecretId: aws.String(id)}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := r.client(id, region).TagResource(ctx, in); err != nil {
		return smError(ctx, op, err, r.f.regionOf(Request{SecretID: id, Region: region}), "")
	}
	return nil
}
