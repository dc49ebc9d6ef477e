// Package smfake emulates AWS Secrets Manager on loopback, speaking the JSON
// 1.1 protocol (X-Amz-Target: secretsmanager.<Operation>, AWS-shaped JSON
// errors). It keeps one store per region (the region of the SigV4 credential
// scope), follows AWS's staging-label semantics, and accepts only requests
// whose SigV4 signature verifies against a key its paired STS issued or a
// seeded static key.
package smfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/loopback"
)

// Operation names (the X-Amz-Target suffix) for fault rules and counters.
const (
	OpGetSecretValue           = "GetSecretValue"
	OpBatchGetSecretValue      = "BatchGetSecretValue"
	OpDescribeSecret           = "DescribeSecret"
	OpListSecrets              = "ListSecrets"
	OpCreateSecret             = "CreateSecret"
	OpPutSecretValue           = "PutSecretValue"
	OpUpdateSecretVersionStage = "UpdateSecretVersionStage"
	OpDeleteSecret             = "DeleteSecret"
	OpTagResource              = "TagResource"
	OpUntagResource            = "UntagResource"
	OpListSecretVersionIDs     = "ListSecretVersionIds"
)

// Staging labels.
const (
	StageCurrent  = "AWSCURRENT"
	StagePending  = "AWSPENDING"
	StagePrevious = "AWSPREVIOUS"
)

// DefaultAccount is the account id in the emulator's ARNs.
const DefaultAccount = "123456789012"

// Value is a secret value: a string or binary.
type Value struct {
	String string
	Binary []byte // used when non-nil
}

type version struct {
	id       string
	value    Value
	stages   []string
	created  time.Time
	accessed time.Time // date only, as AWS keeps it
}

type secretEntry struct {
	name, arn, description             string
	versions                           map[string]*version
	tags                               []tag
	created, changed, accessed, rotate time.Time
	deleted                            time.Time
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Server is the emulated Secrets Manager. Its methods are safe for concurrent use.
type Server struct {
	// Faults injects failures into the operations and counts their calls.
	Faults fault.Injector

	account string

	mu      sync.Mutex
	regions map[string]map[string]*secretEntry // region -> name -> secret
	static  map[string]Key
	lookup  KeyLookup
	regionN map[string]int
	ls      *loopback.Server
}

// New returns an empty Secrets Manager for account DefaultAccount.
func New() *Server {
	return &Server{
		account: DefaultAccount,
		regions: map[string]map[string]*secretEntry{},
		static:  map[string]Key{},
		regionN: map[string]int{},
	}
}

// Start serves a new Secrets Manager on 127.0.0.1.
func Start() (*Server, error) {
	s := New()
	ls, err := loopback.Start(s)
	if err != nil {
		return nil, err
	}
	s.ls = ls
	return s, nil
}

// URL is the base URL of a server made by Start ("" otherwise).
func (s *Server) URL() string { return s.ls.BaseURL() }

// Close stops a server made by Start.
func (s *Server) Close() error { return s.ls.Close() }

// SetKeyLookup makes the emulator accept the sessions lookup knows (its STS's).
func (s *Server) SetKeyLookup(lookup KeyLookup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookup = lookup
}

// AddStaticKey accepts a long-lived access key (local-mode profiles).
func (s *Server) AddStaticKey(accessKeyID, secretAccessKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.static[accessKeyID] = Key{SecretAccessKey: secretAccessKey}
}

// RegionCalls is how many authenticated calls were made to region's store.
func (s *Server) RegionCalls(region string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.regionN[region]
}

// Put stores v under name in region with the given staging labels (default
// AWSCURRENT), creating the secret when needed, and returns its ARN and the
// new version id. It follows PutSecretValue's label semantics.
func (s *Server) Put(region, name string, v Value, stages ...string) (arn, versionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secretByName(region, name)
	if sec == nil {
		sec = s.create(region, name, "", nil)
	}
	ver := s.addVersion(sec, newVersionID(), v, stages)
	return sec.arn, ver.id
}

// ARN returns the ARN of name in region ("" when there is none).
func (s *Server) ARN(region, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secretByName(region, name); sec != nil {
		return sec.arn
	}
	return ""
}

// Stages returns version id -> staging labels of name in region.
func (s *Server) Stages(region, name string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secretByName(region, name)
	if sec == nil {
		return nil
	}
	return versionStages(sec)
}

func (s *Server) store(region string) map[string]*secretEntry {
	m := s.regions[region]
	if m == nil {
		m = map[string]*secretEntry{}
		s.regions[region] = m
	}
	return m
}

func (s *Server) secretByName(region, name string) *secretEntry {
	return s.store(region)[name]
}

// find resolves a SecretId: a name, a full ARN, or a partial ARN (no suffix).
func (s *Server) find(region, id string) *secretEntry {
	st := s.store(region)
	if !strings.HasPrefix(id, "arn:") {
		return st[id]
	}
	for _, sec := range st {
		if sec.arn == id || sec.arn[:len(sec.arn)-7] == id { // partial ARN: no "-AbCdEf"
			return sec
		}
	}
	return nil
}

func (s *Server) create(region, name, desc string, tags []tag) *secretEntry {
	now := time.Now().UTC()
	sec := &secretEntry{
		name:        name,
		arn:         fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, s.account, name, randSuffix()),
		description: desc,
		versions:    map[string]*version{},
		tags:        tags,
		created:     now,
		changed:     now,
	}
	s.store(region)[name] = sec
	return sec
}

// addVersion adds a version carrying stages, moving each label off the
// version that had it; a moved AWSCURRENT leaves AWSPREVIOUS behind.
func (s *Server) addVersion(sec *secretEntry, id string, v Value, stages []string) *version {
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	ver := &version{id: id, value: Value{String: v.String, Binary: slices.Clone(v.Binary)}, created: time.Now().UTC()}
	sec.versions[id] = ver
	for _, st := range stages {
		moveStage(sec, st, ver)
	}
	sec.changed = time.Now().UTC()
	return ver
}

func moveStage(sec *secretEntry, stage string, to *version) {
	var from *version
	for _, v := range sec.versions {
		if v != to && slices.Contains(v.stages, stage) {
			from = v
			v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == stage })
		}
	}
	if !slices.Contains(to.stages, stage) {
		to.stages = append(to.stages, stage)
	}
	if stage == StageCurrent && from != nil {
		to.stages = slices.DeleteFunc(to.stages, func(x string) bool { return x == StagePrevious })
		moveStage(sec, StagePrevious, from)
	}
}

func versionStages(sec *secretEntry) map[string][]string {
	m := map[string][]string{}
	for id, v := range sec.versions {
		if len(v.stages) > 0 {
			m[id] = slices.Clone(v.stages)
		}
	}
	return m
}

func (sec *secretEntry) byStage(stage string) *version {
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stage) {
			return v
		}
	}
	return nil
}

// apiError is an AWS JSON error.
type apiError struct {
	status        int
	code, message string
}

func notFound() *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
}

func invalidParam(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", msg}
}

func markedForDeletion() *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion."}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "secretsmanager.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", "unknown operation"})
		return
	}
	f, hit := s.Faults.Call(op)
	if hit {
		if fault.Apply(w, r, f) {
			return
		}
		switch f.Kind {
		case fault.Error:
			status, code := f.Status, f.Code
			if status == 0 {
				status = http.StatusInternalServerError
			}
			if code == "" {
				code = "InternalServiceError"
			}
			writeError(w, &apiError{status, code, f.Message})
			return
		case fault.Throttle:
			writeError(w, &apiError{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"})
			return
		case fault.Expired:
			writeError(w, &apiError{http.StatusBadRequest, "ExpiredTokenException", "The security token included in the request is expired"})
			return
		}
	}
	region, body, aerr := s.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.mu.Lock()
	s.regionN[region]++
	s.mu.Unlock()
	var out any
	switch op {
	case OpGetSecretValue:
		out, aerr = call(body, func(in getInput) (any, *apiError) { return s.getSecretValue(region, in) })
	case OpBatchGetSecretValue:
		out, aerr = call(body, func(in batchInput) (any, *apiError) { return s.batchGet(region, in) })
	case OpDescribeSecret:
		out, aerr = call(body, func(in idInput) (any, *apiError) { return s.describe(region, in) })
	case OpListSecrets:
		out, aerr = call(body, func(in listInput) (any, *apiError) { return s.list(region, in) })
	case OpCreateSecret:
		out, aerr = call(body, func(in createInput) (any, *apiError) { return s.createSecret(region, in) })
	case OpPutSecretValue:
		out, aerr = call(body, func(in putInput) (any, *apiError) { return s.putSecretValue(region, in) })
	case OpUpdateSecretVersionStage:
		out, aerr = call(body, func(in stageInput) (any, *apiError) { return s.updateStage(region, in) })
	case OpDeleteSecret:
		out, aerr = call(body, func(in deleteInput) (any, *apiError) { return s.deleteSecret(region, in) })
	case OpTagResource:
		out, aerr = call(body, func(in tagInput) (any, *apiError) { return s.tagResource(region, in) })
	case OpUntagResource:
		out, aerr = call(body, func(in untagInput) (any, *apiError) { return s.untagResource(region, in) })
	case OpListSecretVersionIDs:
		out, aerr = call(body, func(in versionsInput) (any, *apiError) { return s.listVersions(region, in) })
	default:
		aerr = &apiError{http.StatusBadRequest, "UnknownOperationException", "unknown operation " + op}
	}
	if hit && aerr == nil {
		var page struct{ NextToken string }
		_ = json.Unmarshal(body, &page)
		out, aerr = hostile(f, out, page.NextToken != "")
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", newVersionID())
	_ = json.NewEncoder(w).Encode(out)
}

// hostile applies the protocol-specific hostile kinds to an answer:
// fault.Echo (a not-found error quoting the value), fault.Endless (a
// NextToken on every batch page, the values on the first only), fault.Duplicate (every batch entry twice,
// the second with another value), fault.Field (VersionId, ARN, Name or
// SecretString of every value set to Body).
func hostile(f fault.Rule, out any, laterPage bool) (any, *apiError) {
	var values []*valueOut
	batch, isBatch := out.(*batchOut)
	switch o := out.(type) {
	case *valueOut:
		values = []*valueOut{o}
	case *batchOut:
		values = o.SecretValues
	}
	switch f.Kind {
	case fault.Echo:
		if !isBatch && len(values) == 1 {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret: " + plain(values[0])}
		}
		if isBatch {
			for _, v := range batch.SecretValues {
				batch.Errors = append(batch.Errors, batchError{SecretID: v.Name, ErrorCode: "DecryptionFailure", Message: "can't decrypt " + plain(v)})
			}
			batch.SecretValues = []*valueOut{}
		}
	case fault.Endless:
		if isBatch {
			batch.NextToken = "next-" + newVersionID()
			if laterPage { // the values came with the first page
				batch.SecretValues, batch.Errors = []*valueOut{}, []batchError{}
			}
		}
	case fault.Duplicate:
		if isBatch {
			for _, v := range slices.Clone(batch.SecretValues) {
				d := *v
				other := "sk-duplicate-" + newVersionID()
				d.SecretString, d.SecretBinary = &other, nil
				batch.SecretValues = append(batch.SecretValues, &d)
			}
		}
	case fault.Field:
		for _, v := range values {
			switch f.Field {
			case "VersionId":
				v.VersionID = f.Body
			case "ARN":
				v.ARN = f.Body
			case "Name":
				v.Name = f.Body
			case "SecretString":
				str := f.Body
				v.SecretString, v.SecretBinary = &str, nil
			}
		}
	}
	return out, nil
}

func plain(v *valueOut) string {
	if v.SecretString != nil {
		return *v.SecretString
	}
	return string(v.SecretBinary)
}

func call[In any](body []byte, f func(In) (any, *apiError)) (any, *apiError) {
	var in In
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, &apiError{http.StatusBadRequest, "SerializationException", "the request body is not valid JSON for this operation"}
		}
	}
	return f(in)
}

// epoch is how the JSON protocol carries timestamps.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

func ep(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type getInput struct {
	SecretID     string `json:"SecretId"`
	VersionID    string `json:"VersionId"`
	VersionStage string `json:"VersionStage"`
}

type valueOut struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   *epoch   `json:"CreatedDate,omitempty"`
}

func (s *Server) getValue(region string, in getInput) (*valueOut, *apiError) {
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	if !sec.deleted.IsZero() {
		return nil, markedForDeletion()
	}
	var ver *version
	switch {
	case in.VersionID != "":
		ver = sec.versions[in.VersionID]
		if ver == nil || (in.VersionStage != "" && !slices.Contains(ver.stages, in.VersionStage)) {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: " + in.VersionID}
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = StageCurrent
		}
		ver = sec.byStage(stage)
		if ver == nil {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: " + stage}
		}
	}
	sec.accessed = time.Now().UTC().Truncate(24 * time.Hour) // AWS keeps the date only
	ver.accessed = sec.accessed
	out := &valueOut{ARN: sec.arn, Name: sec.name, VersionID: ver.id, VersionStages: slices.Clone(ver.stages), CreatedDate: ep(ver.created)}
	if ver.value.Binary != nil {
		out.SecretBinary = slices.Clone(ver.value.Binary)
	} else {
		str := ver.value.String
		out.SecretString = &str
	}
	return out, nil
}

func (s *Server) getSecretValue(region string, in getInput) (any, *apiError) {
	if in.SecretID == "" {
		return nil, invalidParam("You must provide a SecretId.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.getValue(region, in)
	if err != nil {
		return nil, err
	}
	return v, nil
}

type batchInput struct {
	SecretIDList []string        `json:"SecretIdList"`
	Filters      json.RawMessage `json:"Filters"`
	MaxResults   int             `json:"MaxResults"`
	NextToken    string          `json:"NextToken"`
}

type batchError struct {
	SecretID  string `json:"SecretId"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

type batchOut struct {
	SecretValues []*valueOut  `json:"SecretValues"`
	Errors       []batchError `json:"Errors"`
	NextToken    string       `json:"NextToken,omitempty"`
}

func (s *Server) batchGet(region string, in batchInput) (any, *apiError) {
	if len(in.Filters) > 0 && string(in.Filters) != "null" {
		return nil, invalidParam("the emulator supports SecretIdList only")
	}
	if len(in.SecretIDList) == 0 {
		return nil, invalidParam("Either SecretIdList or Filters must be provided.")
	}
	if len(in.SecretIDList) > 20 {
		return nil, &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &batchOut{SecretValues: []*valueOut{}, Errors: []batchError{}}
	for _, id := range in.SecretIDList {
		v, err := s.getValue(region, getInput{SecretID: id})
		if err != nil {
			out.Errors = append(out.Errors, batchError{SecretID: id, ErrorCode: err.code, Message: err.message})
			continue
		}
		out.SecretValues = append(out.SecretValues, v)
	}
	return out, nil
}

type idInput struct {
	SecretID string `json:"SecretId"`
}

type describeOut struct {
	ARN                string              `json:"ARN"`
	Name               string              `json:"Name"`
	Description        string              `json:"Description,omitempty"`
	CreatedDate        *epoch              `json:"CreatedDate,omitempty"`
	LastChangedDate    *epoch              `json:"LastChangedDate,omitempty"`
	LastAccessedDate   *epoch              `json:"LastAccessedDate,omitempty"`
	LastRotatedDate    *epoch              `json:"LastRotatedDate,omitempty"`
	DeletedDate        *epoch              `json:"DeletedDate,omitempty"`
	RotationEnabled    bool                `json:"RotationEnabled"`
	Tags               []tag               `json:"Tags,omitempty"`
	VersionIDsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
}

func describeOf(sec *secretEntry) describeOut {
	return describeOut{
		ARN: sec.arn, Name: sec.name, Description: sec.description,
		CreatedDate: ep(sec.created), LastChangedDate: ep(sec.changed), LastAccessedDate: ep(sec.accessed),
		LastRotatedDate: ep(sec.rotate), DeletedDate: ep(sec.deleted),
		Tags: slices.Clone(sec.tags), VersionIDsToStages: versionStages(sec),
	}
}

func (s *Server) describe(region string, in idInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	return describeOf(sec), nil
}

type listInput struct {
	MaxResults int    `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

func (s *Server) list(region string, in listInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n, sec := range s.store(region) {
		if sec.deleted.IsZero() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(names) {
			return nil, &apiError{http.StatusBadRequest, "InvalidNextTokenException", "The NextToken value is invalid."}
		}
		start = n
	}
	limit := in.MaxResults
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	out := struct {
		SecretList []describeOut `json:"SecretList"`
		NextToken  string        `json:"NextToken,omitempty"`
	}{SecretList: []describeOut{}}
	end := min(start+limit, len(names))
	for _, n := range names[start:end] {
		out.SecretList = append(out.SecretList, describeOf(s.store(region)[n]))
	}
	if end < len(names) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return out, nil
}

type createInput struct {
	Name               string `json:"Name"`
	Description        string `json:"Description"`
	SecretString       *string
	SecretBinary       []byte
	Tags               []tag  `json:"Tags"`
	ClientRequestToken string `json:"ClientRequestToken"`
}

func valueOf(str *string, bin []byte) (Value, *apiError) {
	switch {
	case str != nil && bin != nil:
		return Value{}, invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	case bin != nil:
		return Value{Binary: bin}, nil
	case str != nil:
		return Value{String: *str}, nil
	}
	return Value{}, nil
}

func (s *Server) createSecret(region string, in createInput) (any, *apiError) {
	if in.Name == "" {
		return nil, invalidParam("You must provide a Name.")
	}
	v, aerr := valueOf(in.SecretString, in.SecretBinary)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secretByName(region, in.Name) != nil {
		return nil, &apiError{http.StatusBadRequest, "ResourceExistsException", "The operation failed because the secret " + in.Name + " already exists."}
	}
	sec := s.create(region, in.Name, in.Description, in.Tags)
	out := map[string]string{"ARN": sec.arn, "Name": sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		id := in.ClientRequestToken
		if id == "" {
			id = newVersionID()
		}
		out["VersionId"] = s.addVersion(sec, id, v, nil).id
	}
	return out, nil
}

type putInput struct {
	SecretID           string   `json:"SecretId"`
	SecretString       *string  `json:"SecretString"`
	SecretBinary       []byte   `json:"SecretBinary"`
	VersionStages      []string `json:"VersionStages"`
	ClientRequestToken string   `json:"ClientRequestToken"`
}

func (s *Server) putSecretValue(region string, in putInput) (any, *apiError) {
	v, aerr := valueOf(in.SecretString, in.SecretBinary)
	if aerr != nil {
		return nil, aerr
	}
	if in.SecretString == nil && in.SecretBinary == nil {
		return nil, invalidParam("You must provide either SecretString or SecretBinary.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	if !sec.deleted.IsZero() {
		return nil, markedForDeletion()
	}
	id := in.ClientRequestToken
	if id == "" {
		id = newVersionID()
	}
	if old, dup := sec.versions[id]; dup {
		// AWS: the same token with the same value is an idempotent retry
		// (success, nothing changes, not even the labels); with another
		// value it is an error.
		if old.value.String != v.String || !slices.Equal(old.value.Binary, v.Binary) || (old.value.Binary == nil) != (v.Binary == nil) {
			return nil, &apiError{http.StatusBadRequest, "ResourceExistsException", "You can't modify an existing version, you can only create a new version."}
		}
		return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": old.id, "VersionStages": slices.Clone(old.stages)}, nil
	}
	ver := s.addVersion(sec, id, v, in.VersionStages)
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": ver.id, "VersionStages": ver.stages}, nil
}

type stageInput struct {
	SecretID            string `json:"SecretId"`
	VersionStage        string `json:"VersionStage"`
	MoveToVersionID     string `json:"MoveToVersionId"`
	RemoveFromVersionID string `json:"RemoveFromVersionId"`
}

func (s *Server) updateStage(region string, in stageInput) (any, *apiError) {
	if in.VersionStage == "" {
		return nil, invalidParam("You must provide a VersionStage.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	if !sec.deleted.IsZero() {
		return nil, markedForDeletion()
	}
	holder := sec.byStage(in.VersionStage)
	if in.RemoveFromVersionID != "" && (holder == nil || holder.id != in.RemoveFromVersionID) {
		return nil, invalidParam("The staging label " + in.VersionStage + " is not attached to version " + in.RemoveFromVersionID + ".")
	}
	if in.MoveToVersionID != "" {
		to := sec.versions[in.MoveToVersionID]
		if to == nil {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret version: " + in.MoveToVersionID}
		}
		if holder != nil && holder != to && in.RemoveFromVersionID == "" {
			return nil, invalidParam("The parameter RemoveFromVersionId can't be empty. Staging label " + in.VersionStage + " is currently attached to version " + holder.id + ", so you must explicitly reference that version in RemoveFromVersionId.")
		}
		moveStage(sec, in.VersionStage, to)
		if in.VersionStage == StageCurrent {
			sec.rotate = time.Now().UTC()
		}
	} else if holder != nil {
		holder.stages = slices.DeleteFunc(holder.stages, func(x string) bool { return x == in.VersionStage })
	}
	sec.changed = time.Now().UTC()
	return map[string]string{"ARN": sec.arn, "Name": sec.name}, nil
}

type deleteInput struct {
	SecretID                   string `json:"SecretId"`
	RecoveryWindowInDays       int    `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery bool   `json:"ForceDeleteWithoutRecovery"`
}

func (s *Server) deleteSecret(region string, in deleteInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	days := in.RecoveryWindowInDays
	if days == 0 {
		days = 30
	}
	if in.ForceDeleteWithoutRecovery {
		delete(s.store(region), sec.name)
		days = 0
	}
	sec.deleted = time.Now().UTC()
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": ep(sec.deleted.AddDate(0, 0, days))}, nil
}

type tagInput struct {
	SecretID string `json:"SecretId"`
	Tags     []tag  `json:"Tags"`
}

func (s *Server) tagResource(region string, in tagInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	for _, t := range in.Tags {
		i := slices.IndexFunc(sec.tags, func(x tag) bool { return x.Key == t.Key })
		if i >= 0 {
			sec.tags[i] = t
		} else {
			sec.tags = append(sec.tags, t)
		}
	}
	return struct{}{}, nil
}

type untagInput struct {
	SecretID string   `json:"SecretId"`
	TagKeys  []string `json:"TagKeys"`
}

func (s *Server) untagResource(region string, in untagInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	sec.tags = slices.DeleteFunc(sec.tags, func(x tag) bool { return slices.Contains(in.TagKeys, x.Key) })
	return struct{}{}, nil
}

type versionsInput struct {
	SecretID          string `json:"SecretId"`
	IncludeDeprecated bool   `json:"IncludeDeprecated"`
	MaxResults        int    `json:"MaxResults"`
	NextToken         string `json:"NextToken"`
}

type versionOut struct {
	VersionID        string   `json:"VersionId"`
	VersionStages    []string `json:"VersionStages,omitempty"`
	CreatedDate      *epoch   `json:"CreatedDate,omitempty"`
	LastAccessedDate *epoch   `json:"LastAccessedDate,omitempty"`
}

// listVersions is ListSecretVersionIds: labelled versions, plus deprecated
// (label-less) ones when asked, oldest first, paged like AWS.
func (s *Server) listVersions(region string, in versionsInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(region, in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	var vs []*version
	for _, v := range sec.versions {
		if len(v.stages) > 0 || in.IncludeDeprecated {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if !vs[i].created.Equal(vs[j].created) {
			return vs[i].created.Before(vs[j].created)
		}
		return vs[i].id < vs[j].id
	})
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(vs) {
			return nil, &apiError{http.StatusBadRequest, "InvalidNextTokenException", "The NextToken value is invalid."}
		}
		start = n
	}
	limit := in.MaxResults
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	end := min(start+limit, len(vs))
	out := struct {
		ARN       string       `json:"ARN"`
		Name      string       `json:"Name"`
		Versions  []versionOut `json:"Versions"`
		NextToken string       `json:"NextToken,omitempty"`
	}{ARN: sec.arn, Name: sec.name, Versions: []versionOut{}}
	for _, v := range vs[start:end] {
		out.Versions = append(out.Versions, versionOut{VersionID: v.id, VersionStages: slices.Clone(v.stages), CreatedDate: ep(v.created), LastAccessedDate: ep(v.accessed)})
	}
	if end < len(vs) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return out, nil
}

// Tags returns name's tags in region as key -> value.
func (s *Server) Tags(region, name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if sec := s.secretByName(region, name); sec != nil {
		for _, t := range sec.tags {
			out[t.Key] = t.Value
		}
	}
	return out
}

// Value returns the value of version id of name in region.
func (s *Server) Value(region, name, id string) (Value, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secretByName(region, name)
	if sec == nil || sec.versions[id] == nil {
		return Value{}, false
	}
	v := sec.versions[id].value
	return Value{String: v.String, Binary: slices.Clone(v.Binary)}, true
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", newVersionID())
	if len(e.code) <= 256 {
		// A hostile code (fault.Error with a huge Code) goes in the body
		// only, where a client must bound it; every client refuses a
		// header that size before reading it.
		w.Header().Set("X-Amzn-Errortype", e.code)
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.message})
}

const suffixChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randSuffix() string {
	b := make([]byte, 6)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(suffixChars))))
		b[i] = suffixChars[n.Int64()]
	}
	return string(b)
}

func newVersionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}
