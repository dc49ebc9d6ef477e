package registry

import (
	"fmt"
	"regexp"
	"strings"
)

// Ref is a parsed secret reference. A ref names where a value lives; it is
// not secret and may be shown (a string that looks like a value is refused
// before it becomes a Ref).
type Ref struct {
	Raw      string // as written: "kv://openai/ci/api_key" or "aws-sm://arn:...#key"
	Scheme   string // "kv" | "aws-sm" | "env" | "vault" | "op" | "keychain"
	SecretID string // Secrets Manager name or ARN after backend mapping; env: NAME; vault: PATH; op: VAULT/ITEM[/SECTION]/FIELD; keychain: SERVICE
	Region   string // from an ARN, else ""
	JSONKey  string // after '#', else ""; vault: FIELD
	Mount    string // vault: the KV v2 mount (the first segment)
	Account  string // keychain: ACCOUNT
}

// Store names the store a ref is read from: "aws-secretsmanager" for kv://
// and aws-sm://, else its scheme.
func (r Ref) Store() string {
	switch r.Scheme {
	case "kv", "aws-sm", "":
		return StoreSecretsManager
	}
	return r.Scheme
}

// String returns the ref as written.
func (r Ref) String() string { return r.Raw }

// RefError reports a ref that cannot be used. Ref is the text as written, or
// a placeholder when that text looks like a secret value.
type RefError struct {
	Ref string
	Msg string
}

func (e *RefError) Error() string { return fmt.Sprintf("ref %s: %s", e.Ref, e.Msg) }

// redactedRef stands for a ref whose text looks like a value.
const redactedRef = "[looks like a secret value, not shown]"

// unparsedRef stands for a ref that failed to parse. Such text is never
// quoted: a value pasted into --ref that the detectors miss (or one with a
// workflow command in it) must not reach a log through its error.
const unparsedRef = "[as given, not shown]"

// cleanScheme is a scheme short and plain enough to name in an error.
var cleanScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]{0,15}$`)

// Secrets Manager names: 1–512 of letters, digits and /_+=.@- .
var smName = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
var smARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):secretsmanager:([a-z]{2}(?:-[a-z]+)+-[0-9]+):([0-9]{12}):secret:([A-Za-z0-9/_+=.@-]{1,512})$`)

// DefaultKVTemplate maps kv://<path> to the Secrets Manager name <path>.
const DefaultKVTemplate = "{path}"

// ParseRef parses a secret reference: kv://<path> (mapped through the
// policy's backends.kv.name_template; p may be nil for the default),
// aws-sm://<name-or-ARN>[#json-key], env://NAME, vault://MOUNT/PATH#FIELD,
// op://VAULT/ITEM[/SECTION]/FIELD or keychain://SERVICE/ACCOUNT. Whether the
// policy allows a store in an environment is StoreAllowed's question. Errors are *RefError and never quote the
// ref: at most an unsupported scheme is named, when it is short and plain.
func ParseRef(raw string, p *Policy) (Ref, error) {
	if det, ok := LooksLikeValue(raw); ok {
		return Ref{}, &RefError{Ref: redactedRef, Msg: fmt.Sprintf("looks like a secret value (%s detector), not a reference; pass a ref such as kv://openai/ci/api_key and rotate the value, it has been exposed", det)}
	}
	shown := unparsedRef
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return Ref{}, &RefError{Ref: shown, Msg: "has no scheme; write kv://<path>, aws-sm://<name-or-ARN>[#json-key], " + otherSchemes}
	}
	ref := Ref{Raw: raw, Scheme: scheme}
	if parse, ok := storeParsers[scheme]; ok {
		if msg := parse(rest, &ref); msg != "" {
			return Ref{}, &RefError{Ref: shown, Msg: msg}
		}
		return ref, nil
	}
	body, key, hasKey := strings.Cut(rest, "#")
	if hasKey {
		if key == "" || len(key) > 256 || strings.ContainsAny(key, "#\t\r\n ") {
			return Ref{}, &RefError{Ref: shown, Msg: "has an invalid #json-key; write the key name after one '#', without spaces"}
		}
		ref.JSONKey = key
	}
	switch scheme {
	case "kv":
		if err := checkKVPath(body); err != "" {
			return Ref{}, &RefError{Ref: shown, Msg: err}
		}
		tmpl := DefaultKVTemplate
		if p != nil && p.Backends.KV.NameTemplate != "" {
			tmpl = p.Backends.KV.NameTemplate
		}
		ref.SecretID = strings.ReplaceAll(tmpl, "{path}", body)
		if !smName.MatchString(ref.SecretID) {
			return Ref{}, &RefError{Ref: shown, Msg: "maps to a name that is not a valid Secrets Manager name (at most 512 of letters, digits and /_+=.@-); shorten the path or fix backends.kv.name_template"}
		}
	case "aws-sm":
		if strings.HasPrefix(body, "arn:") {
			m := smARN.FindStringSubmatch(body)
			if m == nil {
				return Ref{}, &RefError{Ref: shown, Msg: "is not a valid Secrets Manager ARN; write arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"}
			}
			ref.Region = m[2]
		} else if !smName.MatchString(body) {
			return Ref{}, &RefError{Ref: shown, Msg: "is not a valid Secrets Manager name (1–512 of letters, digits and /_+=.@-); fix the name or use its ARN"}
		}
		ref.SecretID = body
	default:
		if cleanScheme.MatchString(scheme) {
			return Ref{}, &RefError{Ref: shown, Msg: fmt.Sprintf("has unsupported scheme %q; use kv://, aws-sm://, env://, vault://, op:// or keychain://", scheme)}
		}
		return Ref{}, &RefError{Ref: shown, Msg: "has an unsupported scheme; use kv://, aws-sm://, env://, vault://, op:// or keychain://"}
	}
	return ref, nil
}

func checkKVPath(path string) string {
	switch {
	case path == "":
		return "has an empty path; write kv://<path>, e.g. kv://openai/ci/api_key"
	case strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.Contains(path, "//"):
		return "has an empty path segment; write kv://vendor/env/name without leading, trailing or double '/'"
	case !smName.MatchString(path):
		return "has characters a Secrets Manager name cannot hold; use letters, digits and /_+=.@-"
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return "has a . or .. segment; write the path out"
		}
	}
	return ""
}

// sameSecret reports whether two refs name the same value.
func sameSecret(a, b Ref) bool {
	if a.Store() != b.Store() {
		return false
	}
	switch a.Store() {
	case StoreEnv, StoreOP:
		// Windows reads variables whatever their case, and 1Password's
		// secret references ignore case: OPENAI_ADMIN_KEY and
		// openai_admin_key can be one value.
		return strings.EqualFold(a.SecretID, b.SecretID)
	case StoreSecretsManager:
	default:
		return a.SecretID == b.SecretID && a.JSONKey == b.JSONKey && a.Mount == b.Mount && a.Account == b.Account
	}
	if a.JSONKey != b.JSONKey {
		return false
	}
	if a.Region != "" && b.Region != "" && a.Region != b.Region {
		return false
	}
	return a.SecretID == b.SecretID || arnName(a.SecretID) == arnName(b.SecretID)
}

// arnName is the secret name of an ARN (without the random suffix Secrets
// Manager adds: "-" and six characters), or the name itself.
func arnName(id string) string {
	m := smARN.FindStringSubmatch(id)
	if m == nil {
		return id
	}
	name := m[4]
	if i := len(name) - 7; i > 0 && name[i] == '-' {
		return name[:i]
	}
	return name
}
