package exchange

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// VersionInfo is one version of a secret as ListSecretVersionIds lists it:
// ids, labels and dates, never a value. LastAccessed is a date only
// (Secrets Manager keeps the day of the last read, not the time).
type VersionInfo struct {
	ID           string
	Stages       []string
	Created      time.Time
	LastAccessed time.Time // zero: never read (or not within AWS's retention)
}

// maxVersionPages bounds one listing (Secrets Manager keeps about 100
// versions per secret).
const maxVersionPages = 20

// Versions is ListSecretVersionIds with deprecated versions included. It
// reads no value and so changes no access date.
func (r *RotationStore) Versions(ctx context.Context, id, region string) ([]VersionInfo, error) {
	const op = "secretsmanager:ListSecretVersionIds"
	in := &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(id), IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(100)}
	var out []VersionInfo
	for page := 0; page < maxVersionPages; page++ {
		res, err := r.client(id, region).ListSecretVersionIds(ctx, in)
		if err != nil {
			return nil, smError(ctx, op, err, r.f.regionOf(Request{SecretID: id, Region: region}), "")
		}
		for _, v := range res.Versions {
			out = append(out, VersionInfo{ID: aws.ToString(v.VersionId), Stages: v.VersionStages,
				Created: aws.ToTime(v.CreatedDate).UTC(), LastAccessed: aws.ToTime(v.LastAccessedDate).UTC()})
		}
		if aws.ToString(res.NextToken) == "" {
			return out, nil
		}
		in.NextToken = res.NextToken
	}
	return out, nil
}
