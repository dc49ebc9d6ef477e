package registry

import (
	"regexp"
	"strings"
)

// Stores a ref can name (Ref.Store).
const (
	StoreSecretsManager = "aws-secretsmanager"
	StoreEnv            = "env"
	StoreVault          = "vault"
	StoreOP             = "op"
	StoreKeychain       = "keychain"
)

// otherSchemes is the syntax of the schemes besides kv:// and aws-sm://, for
// errors that say what a ref may look like.
const otherSchemes = "env://NAME, vault://MOUNT/PATH#FIELD, op://VAULT/ITEM/FIELD or keychain://SERVICE/ACCOUNT"

// storeParsers parse the body (after "://") of the refs of the stores other
// than Secrets Manager into ref, returning "" or what is wrong (never
// quoting the body).
var storeParsers = map[string]func(body string, ref *Ref) string{
	StoreEnv:      parseEnvRef,
	StoreVault:    parseVaultRef,
	StoreOP:       parseOPRef,
	StoreKeychain: parseKeychainRef,
}

var (
	envRefName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	// A Vault mount or path segment: what Vault's API takes unescaped.
	vaultSegment = regexp.MustCompile(`^[A-Za-z0-9_.@+=-]{1,128}$`)
	vaultField   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	// 1Password's secret references take names of letters, digits, '-',
	// '_', '.' and inner spaces (an ID is such a name, too).
	opSegment = regexp.MustCompile(`^[A-Za-z0-9_.-](?:[A-Za-z0-9_. -]{0,126}[A-Za-z0-9_.-])?$`)
	// A keychain service or account: plain, printable, no '/'.
	keychainSegment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@+=:-]{0,127}$`)
)

// envRefDenied are the prefixes of variables an env:// ref may not read:
// keylease's own credentials and settings, the runner's, AWS's and the
// other stores' (a lease of one would hand the child what mints more).
var envRefDenied = []string{"ACTIONS_", "AWS_", "GITHUB_", "RUNNER_", "INPUT_", "KEYLEASE_", "OP_", "VAULT_"}

func parseEnvRef(body string, ref *Ref) string {
	if !envRefName.MatchString(body) {
		return "is not env://NAME; write NAME as a variable name: letters, digits and '_', not starting with a digit, at most 128"
	}
	up := strings.ToUpper(body)
	for _, p := range envRefDenied {
		if strings.HasPrefix(up, p) {
			return "names a variable of the runner, AWS, a store or keylease itself (" + p + "*), which is never leased; map the secret into its own variable, e.g. env: OPENAI_CI_KEY: ${{ secrets.OPENAI_CI_KEY }}"
		}
	}
	ref.SecretID = body
	return ""
}

func parseVaultRef(body string, ref *Ref) string {
	path, field, ok := strings.Cut(body, "#")
	if !ok || !vaultField.MatchString(field) {
		return "needs #FIELD, the key of the KV v2 secret's data (letters, digits, '_', '.', '-'); write vault://MOUNT/PATH#FIELD"
	}
	segs := strings.Split(path, "/")
	if len(segs) < 2 {
		return "needs a mount and a path; write vault://MOUNT/PATH#FIELD, e.g. vault://secret/openai/ci#api_key"
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || !vaultSegment.MatchString(s) {
			return "has an empty, . or .. segment or characters outside letters, digits and _.@+=-; write vault://MOUNT/PATH#FIELD"
		}
	}
	ref.Mount, ref.SecretID, ref.JSONKey = segs[0], strings.Join(segs[1:], "/"), field
	return ""
}

func parseOPRef(body string, ref *Ref) string {
	if strings.ContainsAny(body, "?#") {
		return "has a query or '#'; write op://VAULT/ITEM/FIELD (or op://VAULT/ITEM/SECTION/FIELD) without ?attribute"
	}
	segs := strings.Split(body, "/")
	if len(segs) != 3 && len(segs) != 4 {
		return "is not op://VAULT/ITEM/FIELD or op://VAULT/ITEM/SECTION/FIELD; write the names (or IDs) separated by '/'"
	}
	for _, s := range segs {
		if !opSegment.MatchString(s) {
			return "has a name outside letters, digits, '-', '_', '.' and inner spaces (at most 128); use the vault's, item's or field's ID instead"
		}
	}
	ref.SecretID = body
	return ""
}

func parseKeychainRef(body string, ref *Ref) string {
	service, account, ok := strings.Cut(body, "/")
	if !ok || !keychainSegment.MatchString(service) || !keychainSegment.MatchString(account) {
		return "is not keychain://SERVICE/ACCOUNT; write each as a letter or digit, then letters, digits and _.@+=:-, at most 128"
	}
	ref.SecretID, ref.Account = service, account
	return ""
}
