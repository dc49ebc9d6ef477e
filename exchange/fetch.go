package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/secret"
)

// Staging labels.
const (
	StageCurrent = "AWSCURRENT"
	StagePending = "AWSPENDING"
)

// batchMax is BatchGetSecretValue's limit on SecretIdList.
const batchMax = 20

// parallelCalls bounds the Secrets Manager calls in flight.
const parallelCalls = 8

// Request is one ref to read from Secrets Manager.
type Request struct {
	Label          string // the ref as written, for errors
	SecretID       string // name or ARN
	Region         string // "" : the ARN's, else the configured region
	JSONKey        string // select this key of a JSON object value
	Stage          string // "" : AWSCURRENT
	RequiredPrefix string // the value must start with it ("" : no check)
	Vendor         string // names the policy's prefix in errors
}

// Secret is a fetched value with its provenance.
type Secret struct {
	Request
	Value     secret.Value
	VersionID string
	ARN       string
	KeyID     string // the vendor key id of a JSON-form secret ("" otherwise)
}

// Fetcher reads secrets with one Secrets Manager client per region.
type Fetcher struct {
	cfg     aws.Config
	mu      sync.Mutex
	clients map[string]*secretsmanager.Client
}

// NewFetcher uses awsCfg's credentials, endpoint settings and region.
func NewFetcher(awsCfg aws.Config) *Fetcher {
	return &Fetcher{cfg: awsCfg, clients: map[string]*secretsmanager.Client{}}
}

func (f *Fetcher) client(region string) *secretsmanager.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.clients[region]; c != nil {
		return c
	}
	c := secretsmanager.NewFromConfig(f.cfg, func(o *secretsmanager.Options) {
		o.Region = region
		o.HTTPClient = sdkClient(o.HTTPClient, smLimits)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = backoff.attempts
			so.Backoff = sdkBackoff{}
			so.RateLimiter = ratelimit.None // our calls are few; never refuse a retry locally
		})
	})
	f.clients[region] = c
	return c
}

// regionOf: an ARN's region wins over the request's and the configured one.
func (f *Fetcher) regionOf(r Request) string {
	if a, err := arn.Parse(r.SecretID); err == nil && a.Region != "" {
		return a.Region
	}
	if r.Region != "" {
		return r.Region
	}
	return f.cfg.Region
}

// raw is what Secrets Manager returned for one secret id.
type raw struct {
	str       *string
	bin       []byte
	versionID string
	arn       string
	empty     bool // the answer had no SecretString and no SecretBinary
	err       *Error
}

// Fetch reads every request. The result is index-aligned with reqs; a ref
// that failed has a zero Value and its *Error is in the joined error. One
// ref per region (or a non-current stage) costs a GetSecretValue; two or more
// current refs in a region cost ⌈n/20⌉ BatchGetSecretValue calls.
func (f *Fetcher) Fetch(ctx context.Context, reqs []Request) ([]Secret, error) {
	out := make([]Secret, len(reqs))
	errs := make([]error, len(reqs))

	type key struct{ region, id, stage string }
	results := map[key]*raw{}
	var singles []key
	batches := map[string][]string{} // region -> unique ids (AWSCURRENT)
	for i, r := range reqs {
		out[i].Request = r
		if r.Stage == "" {
			out[i].Stage = StageCurrent
		}
		region := f.regionOf(r)
		if region == "" {
			errs[i] = &Error{Op: "secretsmanager:GetSecretValue", Ref: r.Label, Code: "MissingRegion", Message: "no AWS region for this ref",
				Hint: "set --region (action input aws-region) or AWS_REGION, or use the secret's ARN"}
			continue
		}
		if r.SecretID == "" {
			errs[i] = &Error{Op: "secretsmanager:GetSecretValue", Ref: r.Label, Code: "MissingSecretID", Message: "the ref names no secret", Hint: "fix the ref"}
			continue
		}
		k := key{region, r.SecretID, out[i].Stage}
		if _, seen := results[k]; seen {
			continue
		}
		results[k] = nil
		if k.stage == StageCurrent {
			batches[region] = append(batches[region], r.SecretID)
		} else {
			singles = append(singles, k)
		}
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	var panicType string // set when a worker panicked
	sem := make(chan struct{}, parallelCalls)
	store := func(k key, v *raw) {
		mu.Lock()
		results[k] = v
		mu.Unlock()
	}
	run := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// A panic here would end the process with its raw value on
			// stderr, past every sanitizer, and the value may hold a
			// response body. Keep only its type.
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					panicType = fmt.Sprintf("%T", p)
					mu.Unlock()
				}
			}()
			fn()
		}()
	}
	for _, k := range singles {
		run(func() { store(k, f.get(ctx, k.region, k.id, k.stage)) })
	}
	for region, ids := range batches {
		if len(ids) == 1 {
			run(func() { store(key{region, ids[0], StageCurrent}, f.get(ctx, region, ids[0], StageCurrent)) })
			continue
		}
		for start := 0; start < len(ids); start += batchMax {
			chunk := ids[start:min(start+batchMax, len(ids))]
			run(func() {
				for id, v := range f.batch(ctx, region, chunk) {
					store(key{region, id, StageCurrent}, v)
				}
			})
		}
	}
	wg.Wait()
	if panicType != "" {
		// Nothing fetched in a run that panicked is trusted or returned.
		for _, v := range results {
			if v != nil {
				clear(v.bin)
			}
		}
		for i, r := range reqs {
			if errs[i] == nil {
				errs[i] = &Error{Op: "secretsmanager:GetSecretValue", Ref: r.Label, Code: "InternalError",
					Message: "the Secrets Manager client panicked (" + panicType + "); no value was used",
					Hint:    "retry; if it recurs, report a keylease bug with the keylease version"}
			}
		}
		return out, errors.Join(errs...)
	}

	for i, r := range reqs {
		if errs[i] != nil {
			continue
		}
		v := results[key{f.regionOf(r), r.SecretID, out[i].Stage}]
		if v == nil {
			v = &raw{err: &Error{Op: "secretsmanager:BatchGetSecretValue", Code: "NotReturned", Message: "Secrets Manager returned neither a value nor an error for this secret", Hint: "retry; check the ref"}}
		}
		if v.err != nil {
			e := *v.err
			e.Ref = r.Label
			errs[i] = &e
			continue
		}
		if v.empty {
			errs[i] = &Error{Op: "secretsmanager:value", Ref: r.Label, Code: "EmptySecret",
				Message: "Secrets Manager's answer has neither SecretString nor SecretBinary for this secret (an empty answer)",
				Hint:    "put a value in the secret; if it has one, check AWS_ENDPOINT_URL_SECRETS_MANAGER and any proxy"}
			continue
		}
		if err := checkProvenance(r, f.regionOf(r), v); err != nil {
			errs[i] = err
			continue
		}
		val, keyID, err := extractKey(r, v)
		if err != nil {
			errs[i] = err
			continue
		}
		out[i].Value, out[i].VersionID, out[i].ARN, out[i].KeyID = val, v.versionID, v.arn, keyID
	}
	return out, errors.Join(errs...)
}

func (f *Fetcher) get(ctx context.Context, region, id, stage string) *raw {
	const op = "secretsmanager:GetSecretValue"
	res, err := f.client(region).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(id), VersionStage: aws.String(stage),
	})
	if err != nil {
		return &raw{err: smError(ctx, op, err, region, stage)}
	}
	return &raw{str: res.SecretString, bin: res.SecretBinary, versionID: aws.ToString(res.VersionId), arn: aws.ToString(res.ARN),
		empty: res.SecretString == nil && res.SecretBinary == nil}
}

// maxPages bounds the pages of one BatchGetSecretValue call chain: what was
// asked fits in ⌈n/20⌉ pages; a server that keeps sending NextToken past a
// small margin is not paginating, it is looping.
func maxPages(n int) int { return (n+batchMax-1)/batchMax + 2 }

// batch reads up to 20 current values in one call. Per-secret errors come
// back per id. When the role may not call BatchGetSecretValue at all, it
// falls back to one GetSecretValue per id (least-privilege roles).
func (f *Fetcher) batch(ctx context.Context, region string, ids []string) map[string]*raw {
	const op = "secretsmanager:BatchGetSecretValue"
	got := make(map[string]*raw, len(ids))
	in := &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids}
	failAll := func(e *Error) map[string]*raw {
		for _, id := range ids {
			if got[id] == nil || got[id].err == nil {
				got[id] = &raw{err: e}
			}
		}
		return got
	}
	seen := map[string]bool{}
	// first marks id answered; a second answer for it (a value or an error)
	// replaces what came with a duplicate error: which one is right cannot
	// be told.
	first := func(id string) bool {
		if seen[id] {
			clear(got[id].bin)
			got[id] = &raw{err: duplicateError(op)}
			return false
		}
		seen[id] = true
		return true
	}
	for page := 1; ; page++ {
		res, err := f.client(region).BatchGetSecretValue(ctx, in)
		if err != nil {
			e := smError(ctx, op, err, region, StageCurrent)
			if e.Code == "AccessDeniedException" {
				for _, id := range ids {
					if got[id] == nil {
						got[id] = f.get(ctx, region, id, StageCurrent)
					}
				}
				return got
			}
			for _, id := range ids {
				if got[id] == nil {
					got[id] = &raw{err: e}
				}
			}
			return got
		}
		for _, sv := range res.SecretValues {
			id, ok := matchID(ids, sv)
			if !ok {
				continue
			}
			if !first(id) {
				continue
			}
			got[id] = &raw{str: sv.SecretString, bin: sv.SecretBinary, versionID: aws.ToString(sv.VersionId), arn: aws.ToString(sv.ARN),
				empty: sv.SecretString == nil && sv.SecretBinary == nil}
		}
		for _, ae := range res.Errors {
			id, ok := matchErrorID(ids, aws.ToString(ae.SecretId))
			if !ok {
				continue
			}
			if !first(id) {
				continue
			}
			e := &Error{Op: op, Code: safeCode(aws.ToString(ae.ErrorCode)), Message: knownMessage(aws.ToString(ae.Message))}
			e.Hint = smHint(e.Code, region, StageCurrent)
			e.Retryable = retryableCode(e.Code)
			got[id] = &raw{err: e}
		}
		if res.NextToken == nil || *res.NextToken == "" {
			return got
		}
		if page >= maxPages(len(ids)) {
			return failAll(&Error{Op: op, Code: "TooManyPages",
				Message: "Secrets Manager kept sending NextToken after " + strconv.Itoa(page) + " pages for " + strconv.Itoa(len(ids)) + " secrets (at most " + strconv.Itoa(maxPages(len(ids))) + " expected)",
				Hint:    "the endpoint is not answering as Secrets Manager does; check AWS_ENDPOINT_URL_SECRETS_MANAGER and any proxy"})
		}
		in.NextToken = res.NextToken
	}
}

func duplicateError(op string) *Error {
	return &Error{Op: op, Code: "DuplicateSecret", Message: "Secrets Manager answered twice for this secret in one batch, so neither answer is used",
		Hint: "the endpoint is not answering as Secrets Manager does; check AWS_ENDPOINT_URL_SECRETS_MANAGER and any proxy"}
}

// matchErrorID finds which requested id an error entry is about; ids
// are compared as sent, so only a requested id matches.
func matchErrorID(ids []string, secretID string) (string, bool) {
	for _, id := range ids {
		if id == secretID {
			return id, true
		}
	}
	return "", false
}

// matchID finds which requested id (name, full ARN or partial ARN) an entry answers.
func matchID(ids []string, sv smtypes.SecretValueEntry) (string, bool) {
	got, name := aws.ToString(sv.ARN), aws.ToString(sv.Name)
	for _, id := range ids {
		if id == name || id == got || isPartialARNOf(id, got) {
			return id, true
		}
	}
	return "", false
}

// isPartialARNOf: a secret's ARN is its partial ARN (…:secret:NAME) plus
// "-" and six random characters.
func isPartialARNOf(partial, full string) bool {
	p, err1 := arn.Parse(partial)
	f, err2 := arn.Parse(full)
	if err1 != nil || err2 != nil || p.Partition != f.Partition || p.Service != f.Service || p.Region != f.Region || p.AccountID != f.AccountID {
		return false
	}
	rest, ok := strings.CutPrefix(f.Resource, p.Resource+"-")
	return ok && arnSuffixRe.MatchString(rest)
}

var (
	// AWS's shapes for what Secrets Manager returns beside the value. A
	// server string that reaches the record or the summary must have one.
	versionIDRe = regexp.MustCompile(`^[A-Za-z0-9-]{32,64}$`)
	arnSuffixRe = regexp.MustCompile(`^[A-Za-z0-9]{6}$`)
	partitionRe = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	accountRe   = regexp.MustCompile(`^[0-9]{12}$`)
)

// checkProvenance refuses an answer whose VersionId or ARN does not have
// AWS's shape, or whose ARN is not the secret asked for in the region asked:
// they go to the record, and a hostile server could put anything there.
func checkProvenance(r Request, region string, v *raw) error {
	fail := func(msg string) error {
		return &Error{Op: "secretsmanager:value", Ref: r.Label, Code: "BadResponse", Message: "Secrets Manager's answer is malformed: " + msg + "; the value is not used",
			Hint: "the endpoint is not answering as Secrets Manager does; check AWS_ENDPOINT_URL_SECRETS_MANAGER and any proxy"}
	}
	if !versionIDRe.MatchString(v.versionID) {
		return fail("its VersionId is not 32–64 letters, digits and dashes")
	}
	a, err := arn.Parse(v.arn)
	if err != nil || !partitionRe.MatchString(a.Partition) || a.Service != "secretsmanager" || a.Region != region || !accountRe.MatchString(a.AccountID) {
		return fail("its ARN is not a Secrets Manager ARN of region " + region)
	}
	name := r.SecretID
	if _, err := arn.Parse(r.SecretID); err == nil {
		if r.SecretID == v.arn || isPartialARNOf(r.SecretID, v.arn) {
			return nil
		}
		return fail("its ARN is not the ARN asked for")
	}
	rest, ok := strings.CutPrefix(a.Resource, "secret:"+name+"-")
	if !ok || !arnSuffixRe.MatchString(rest) {
		return fail("its ARN is not that of the secret asked for")
	}
	return nil
}

// MaxValueBytes is the longest value keylease hands to a child: Linux's
// per-string limit for the environment (MAX_ARG_STRLEN, 131072 bytes,
// counting NAME=, the value and the terminating NUL), less 256 bytes kept
// for the variable's name.
const MaxValueBytes = 131072 - 256

// UnusableValueError is a value that cannot be an environment variable: too
// long for the platform, or holding a NUL byte. It says which ref and which
// limit, never the value.
type UnusableValueError struct {
	Ref   string
	Len   int  // the value's length in bytes
	Limit int  // MaxValueBytes
	NUL   bool // the value holds a NUL byte
}

func (e *UnusableValueError) Error() string { return e.Ref + ": " + e.reason() }

func (e *UnusableValueError) reason() string {
	if e.NUL {
		return "the value holds a NUL byte, which no environment variable can carry"
	}
	return "the value is " + strconv.Itoa(e.Len) + " bytes, over the " + strconv.Itoa(e.Limit) +
		"-byte limit of one environment variable (Linux's MAX_ARG_STRLEN of 131072 bytes, less room for the name)"
}

// extractKey is extract plus the JSON form of a stored key (keyform): a
// secret {"api_key": KEY, "key_id": ID, …} read without #json-key yields KEY
// and ID, so a rotated secret leases like a plain one. This is the one place
// the fetch path reads that form.
func extractKey(r Request, v *raw) (secret.Value, string, error) {
	// A tombstone is refused before any other reading: with a #json-key, a
	// binary secret or a required prefix it would otherwise surface as a
	// missing field or a wrong prefix, hiding that the key was revoked.
	if err := tombstoned(r, v); err != nil {
		return secret.Value{}, "", err
	}
	if r.JSONKey != "" || v.str == nil || !keyform.IsJSON([]byte(*v.str)) {
		val, err := extract(r, v)
		return val, "", err
	}
	st, derr := keyform.Decode(secret.FromString(*v.str))
	if derr != nil {
		return secret.Value{}, "", &Error{Op: "secretsmanager:value", Ref: r.Label, Code: "BadKeyForm", Message: derr.Error(),
			Hint: "store the plain key, or {\"api_key\": KEY, \"key_id\": ID} as keylease rotate does"}
	}
	inner := *v
	s := string(st.Key.Bytes())
	inner.str = &s
	st.Key.Wipe()
	val, err := extract(r, &inner)
	return val, st.KeyID, err
}

// tombstoned is an *Error (code Revoked, unwrapping to the
// *keyform.RevokedError) when v is a revocation tombstone, else nil.
func tombstoned(r Request, v *raw) error {
	b := v.bin
	if v.str != nil {
		b = []byte(*v.str)
	}
	ts, ok := keyform.ParseTombstone(b)
	if !ok {
		return nil
	}
	re := &keyform.RevokedError{Tombstone: ts}
	on := "an unknown date"
	if !ts.At.IsZero() {
		on = ts.At.UTC().Format(time.RFC3339)
	}
	return &Error{Op: "secretsmanager:value", Ref: r.Label, Code: "Revoked",
		Message: "revoked on " + on + " (" + ts.Reason + "): the current version is a keylease tombstone, not a key",
		Hint:    "lease a rotated replacement (keylease rotate), and see the revocation record", cause: re}
}

// extract applies the #json-key selection and the required prefix.
func extract(r Request, v *raw) (secret.Value, error) {
	fail := func(code, msg, hint string) error {
		return &Error{Op: "secretsmanager:value", Ref: r.Label, Code: code, Message: msg, Hint: hint}
	}
	var val secret.Value
	switch {
	case r.JSONKey != "":
		if v.str == nil {
			return secret.Value{}, fail("NotJSON", "the secret is binary, so #"+r.JSONKey+" cannot select from it", "drop the #key or point the ref at a JSON secret")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(*v.str), &obj); err != nil || obj == nil {
			// err's text may quote bytes of the value: never use it.
			return secret.Value{}, fail("NotJSON", "the secret value is not a JSON object, so #"+r.JSONKey+" cannot select from it", "drop the #key or store the secret as a JSON object")
		}
		field, ok := obj[r.JSONKey]
		if !ok {
			return secret.Value{}, fail("JSONKeyNotFound", "the secret's JSON object has no key \""+r.JSONKey+"\"", "fix the #key in the ref (keys are case-sensitive)")
		}
		var s string
		if err := json.Unmarshal(field, &s); err != nil {
			return secret.Value{}, fail("JSONKeyNotString", "the value of key \""+r.JSONKey+"\" is not a JSON string", "store the key's value as a string")
		}
		val = secret.FromString(s)
		for k := range obj {
			clear(obj[k])
		}
	case v.bin != nil:
		val = secret.New(v.bin)
		clear(v.bin)
	case v.str != nil:
		val = secret.FromString(*v.str)
	default:
		return secret.Value{}, fail("EmptySecret", "the secret version has no value", "put a value in the secret")
	}
	if p := CheckValue(r.Label, val, r.RequiredPrefix, r.Vendor); p != nil {
		e := &Error{Op: "secretsmanager:value", Ref: r.Label, Code: p.Code, Message: p.Msg, Hint: p.Hint}
		if p.Unusable != nil {
			e.cause = p.Unusable
		}
		return secret.Value{}, e
	}
	return val, nil
}

func smError(ctx context.Context, op string, err error, region, stage string) *Error {
	e := awsError(ctx, StageSecretsManager, op, "", err)
	e.Hint = smHint(e.Code, region, stage)
	return e
}

func smHint(code, region, stage string) string {
	switch code {
	case "ResourceNotFoundException":
		return "check the secret's name or ARN, the region (" + region + ") and that stage " + stage + " exists"
	case "AccessDeniedException":
		return "the role needs secretsmanager:GetSecretValue on this secret (and secretsmanager:BatchGetSecretValue for several refs)"
	case "DecryptionFailure":
		return "the role needs kms:Decrypt on the secret's KMS key"
	case "ExpiredTokenException", "ExpiredToken":
		return "the AWS session expired; re-run the job, or locally refresh your credentials (aws sso login)"
	case "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignatureException", "MissingAuthenticationTokenException":
		return "the AWS credentials were refused; check your profile or role and AWS_ENDPOINT_URL_SECRETS_MANAGER"
	case "InvalidRequestException":
		return "the secret may be scheduled for deletion; restore it or fix the ref"
	case "NetworkError", "Timeout":
		return "could not reach Secrets Manager; check the network, HTTPS_PROXY/NO_PROXY and AWS_ENDPOINT_URL_SECRETS_MANAGER"
	case "BadResponse", "ResponseTooLarge", "Redirect", BadErrorCode:
		return "the endpoint is not answering as Secrets Manager does; check AWS_ENDPOINT_URL_SECRETS_MANAGER and any proxy"
	case "SetupTimeout":
		return "raise --setup-timeout, or find out why Secrets Manager is slow (network, proxy, endpoint)"
	case "Canceled":
		return ""
	}
	if retryableCode(code) || strings.HasPrefix(code, "HTTP5") {
		return "Secrets Manager is throttling or failing after retries; retry the job later"
	}
	return "check the ref and the role's permissions"
}
