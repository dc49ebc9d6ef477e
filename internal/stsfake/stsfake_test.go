package stsfake_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/stsfake"
)

const role = "arn:aws:iam::123456789012:role/keylease-ci"

func setup(t *testing.T) (*oidcfake.Server, *stsfake.Server, *sts.Client) {
	t.Helper()
	o, err := oidcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	s, err := stsfake.Start(o.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL()), Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	})
	return o, s, c
}

func mint(t *testing.T, o *oidcfake.Server, aud string, expired bool) string {
	t.Helper()
	tok, err := o.Mint(aud, expired)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	t.Parallel()
	o, s, c := setup(t)
	out, err := c.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("keylease-1-1"),
		WebIdentityToken: aws.String(mint(t, o, "sts.amazonaws.com", false)), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(aws.ToString(cr.AccessKeyId), "ASIA") || len(aws.ToString(cr.AccessKeyId)) != 20 || aws.ToString(cr.SessionToken) == "" {
		t.Errorf("credentials = %q", aws.ToString(cr.AccessKeyId))
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "repo:keylease/demo:ref:refs/heads/main" || aws.ToString(out.Audience) != "sts.amazonaws.com" {
		t.Errorf("subject/audience = %q %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience))
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/keylease-ci/keylease-1-1" {
		t.Errorf("assumed role arn = %q", got)
	}
	if k, ok := s.Lookup(aws.ToString(cr.AccessKeyId)); !ok || k.SecretAccessKey != aws.ToString(cr.SecretAccessKey) {
		t.Error("Lookup does not know the issued key")
	}
}

func TestAssumeRoleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(*stsfake.Server)
		in       func(*oidcfake.Server, *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput
		wantCode string
	}{
		{"duration too short", nil, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, o, "sts.amazonaws.com", false), 600, "s1")
		}, "ValidationError"},
		{"duration too long", nil, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, o, "sts.amazonaws.com", false), 43201, "s1")
		}, "ValidationError"},
		{"bad session name", nil, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, o, "sts.amazonaws.com", false), 900, "a b")
		}, "ValidationError"},
		{"expired token", nil, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, o, "sts.amazonaws.com", true), 900, "s1")
		}, "ExpiredTokenException"},
		{"wrong audience", nil, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, o, "https://github.com/keylease", false), 900, "s1")
		}, "InvalidIdentityToken"},
		{"untrusted issuer", nil, func(_, other *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, other, "sts.amazonaws.com", false), 900, "s1")
		}, "InvalidIdentityToken"},
		{"forged signature", nil, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			tok := mint(t, o, "sts.amazonaws.com", false)
			return input(tok[:len(tok)-4]+"AAAA", 900, "s1")
		}, "InvalidIdentityToken"},
		{"trust policy sub", func(s *stsfake.Server) { s.SetTrustedSubject("repo:keylease/demo:environment:prod") }, func(o, _ *oidcfake.Server) *sts.AssumeRoleWithWebIdentityInput {
			return input(mint(t, o, "sts.amazonaws.com", false), 900, "s1")
		}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, s, c := setup(t)
			other, err := oidcfake.New(o.Issuer() + "/other")
			if err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(s)
			}
			in := tt.in(o, other)
			_, err = c.AssumeRoleWithWebIdentity(context.Background(), in)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tt.wantCode {
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
			if strings.Contains(err.Error(), aws.ToString(in.WebIdentityToken)) {
				t.Error("the error echoes the web identity token")
			}
		})
	}
}

func input(tok string, d int32, name string) *sts.AssumeRoleWithWebIdentityInput {
	return &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String(name), WebIdentityToken: aws.String(tok), DurationSeconds: aws.Int32(d)}
}

// The wire format of an error is AWS's query-protocol XML.
func TestErrorXML(t *testing.T) {
	t.Parallel()
	_, s, _ := setup(t)
	resp, err := http.PostForm(s.URL(), url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	for _, w := range []string{`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`, "<Type>Sender</Type>", "<Code>ValidationError</Code>", "<RequestId>"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("error body lacks %s:\n%s", w, b)
		}
	}
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
