package registry

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Schemas are shipped as files (editors use them) and embedded (check uses
// the very same bytes).
//
//go:embed schema/*.json
var schemaFS embed.FS

const (
	registrySchemaFile = "schema/secrets-registry.schema.json"
	policySchemaFile   = "schema/secrets-policy.schema.json"
)

// Schema returns the JSON Schema of the registry ("registry") or the policy
// ("policy") as shipped in registry/schema/.
func Schema(name string) ([]byte, error) {
	switch name {
	case "registry":
		return schemaFS.ReadFile(registrySchemaFile)
	case "policy":
		return schemaFS.ReadFile(policySchemaFile)
	}
	return nil, fmt.Errorf("unknown schema %q; use registry or policy", name)
}

// compiled holds the compiled schemas: compiled on first validation, once
// per process, so commands that load no configuration never pay for it.
var compiled = sync.OnceValues(compileSchemas)

func compileSchemas() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for _, f := range []string{registrySchemaFile, policySchemaFile} {
		b, err := schemaFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", f, err)
		}
		if err := c.AddResource(f, doc); err != nil {
			return nil, fmt.Errorf("embedded %s: %w", f, err)
		}
		s, err := c.Compile(f)
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", f, err)
		}
		out[f] = s
	}
	return out, nil
}

// validateSchema adds a problem for every schema violation in t, worded by
// keylease (the validator's own messages quote instance values).
func (t *tree) validateSchema(schemaFile string, names nameKinds) {
	schemas, err := compiled()
	if err != nil {
		// The schemas are embedded and tested; this is a build defect.
		t.addPos(pos{}, "", "internal error: "+err.Error())
		return
	}
	err = schemas[schemaFile].Validate(t.root)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		t.addPos(pos{}, "", "cannot validate: "+err.Error())
		return
	}
	seen := map[string]bool{}
	t.schemaLeaves(ve, names, seen)
}

// nameKinds names what the keys of an object at a given depth are ("vendor",
// "environment"), for messages about keys that break the naming rules.
type nameKinds func(loc []string) string

func (t *tree) schemaLeaves(ve *jsonschema.ValidationError, names nameKinds, seen map[string]bool) {
	switch ve.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.AnyOf, *kind.OneOf, *kind.Reference, nil:
		for _, c := range ve.Causes {
			t.schemaLeaves(c, names, seen)
		}
		return
	}
	ptr := pointer(ve.InstanceLocation)
	if t.suppressed(ptr) {
		return
	}
	last := ""
	if n := len(ve.InstanceLocation); n > 0 {
		last = ve.InstanceLocation[n-1]
	}
	add := func(p string, msg string) {
		key := p + "\x00" + msg
		if seen[key] {
			return
		}
		seen[key] = true
		t.addAt(p, msg)
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		props := append([]string(nil), k.Properties...)
		sort.Strings(props)
		for _, prop := range props {
			cp := ptrOf(ptr, prop)
			if t.suppressed(cp) {
				continue
			}
			add(cp, "unknown key; "+knownKeysHint(t.file, ve.InstanceLocation))
		}
	case *kind.PropertyNames:
		cp := ptrOf(ptr, k.Property)
		if t.suppressed(cp) {
			return
		}
		add(cp, fmt.Sprintf("not a valid %s name; use lowercase letters, digits, '_' and '-', starting with a letter", names(ve.InstanceLocation)))
	case *kind.Required:
		add(ptr, fmt.Sprintf("missing required key %s; add it", strings.Join(k.Missing, ", ")))
	case *kind.Type:
		add(ptr, fmt.Sprintf("wrong type: got %s, want %s; %s", k.Got, strings.Join(k.Want, " or "), typeHint(k.Want)))
	case *kind.Const:
		add(ptr, fmt.Sprintf("must be %v; this keylease version reads version %v", k.Want, k.Want))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		add(ptr, "unsupported value; use one of: "+strings.Join(want, ", "))
	case *kind.Pattern:
		add(ptr, "does not have the expected form; "+patternHint(last, ve.InstanceLocation))
	case *kind.MinLength:
		add(ptr, fmt.Sprintf("too short (at least %d characters); lengthen it", k.Want))
	case *kind.MaxLength:
		add(ptr, fmt.Sprintf("too long (at most %d characters); shorten it", k.Want))
	case *kind.Minimum:
		add(ptr, fmt.Sprintf("must be at least %s; raise it", k.Want.RatString()))
	case *kind.Maximum:
		add(ptr, fmt.Sprintf("must be at most %s; lower it", k.Want.RatString()))
	case *kind.MinItems:
		add(ptr, fmt.Sprintf("needs at least %d item(s); add them", k.Want))
	case *kind.MaxItems:
		add(ptr, fmt.Sprintf("has more than %d items; split or trim it", k.Want))
	case *kind.MinProperties:
		add(ptr, fmt.Sprintf("needs at least %d key(s); fill it in or remove it", k.Want))
	case *kind.UniqueItems:
		add(ptrOf(ptr, fmt.Sprint(k.Duplicates[1])), fmt.Sprintf("repeats item %d; list each once", k.Duplicates[0]))
	default:
		add(ptr, fmt.Sprintf("violates the schema (%s); see %s", strings.Join(ve.ErrorKind.KeywordPath(), "/"), schemaFileFor(t.file)))
	}
}

func schemaFileFor(file string) string {
	if strings.HasSuffix(file, ".json") {
		return "registry/" + policySchemaFile
	}
	return "registry/" + registrySchemaFile
}

func typeHint(want []string) string {
	switch {
	case len(want) == 1 && want[0] == "boolean":
		return "write true or false (unquoted)"
	case len(want) == 1 && want[0] == "integer":
		return "write a whole number (unquoted)"
	case len(want) == 1 && want[0] == "array":
		return `write a list, e.g. ["llm:chat"]`
	case len(want) == 1 && want[0] == "object":
		return "write a mapping of keys to values"
	case len(want) == 1 && want[0] == "string":
		return "write a quoted string"
	}
	return "fix the type"
}

func patternHint(last string, loc []string) string {
	if len(loc) >= 2 && loc[len(loc)-2] == "scope" {
		last = "scope"
	}
	switch last {
	case "secret_ref":
		return "write a ref: kv://<path>, aws-sm://<name-or-ARN>[#json-key], " + otherSchemes
	case "scope":
		return "a scope label is letters, digits and . _ : / - (e.g. llm:chat), at most 128 characters"
	case "created", "last_rotated":
		return "write a date as YYYY-MM-DD"
	case "expiry_policy":
		return "write a short label such as rotate-30d (lowercase letters, digits, . _ : -)"
	case "name_template":
		return "write a Secrets Manager name containing {path}, e.g. {path} or keylease/{path}"
	}
	if len(loc) == 2 && loc[0] == "required_prefix" {
		return "write the prefix only (letters, digits, _ and -), e.g. sk-"
	}
	if len(loc) == 2 && loc[0] == "allowed_secrets" {
		return "vendor names use lowercase letters, digits, '_' and '-', starting with a letter"
	}
	return "see the schema"
}

// knownKeysHint lists the keys allowed where an unknown one was found, so a
// typo is fixed in one step.
func knownKeysHint(file string, loc []string) string {
	if strings.HasSuffix(file, ".json") {
		switch {
		case len(loc) == 0:
			return "known keys: version, allowed_secrets, required_prefix, flags, ttl_caps_seconds, rotation_days, audit_severity, backends"
		case len(loc) == 1 && loc[0] == "flags":
			return "known flags: no_logging, no_persistence, allow_short_values"
		case len(loc) == 1 && loc[0] == "backends":
			return "known backends: kv, " + storeNames()
		case len(loc) == 1 && loc[0] == "audit_severity":
			return "known keylease audit finding ids: rotation-overdue, secret-missing, revoked-still-current, accessed-after-revocation, old-key-not-retired, orphaned-minted-key, revoked-ref-in-workflow, secret-exposed-to-steps, vendor-key-in-github-secrets, leak-in-logs, leak-in-artifacts"
		case len(loc) == 2 && loc[0] == "backends" && loc[1] == "kv":
			return "known keys: type, name_template"
		case len(loc) == 2 && loc[0] == "backends" && loc[1] == StoreVault:
			return "known keys: environments, role, auth_mount, audience"
		case len(loc) == 2 && loc[0] == "backends":
			return "known keys: environments"
		}
		return "remove it"
	}
	switch {
	case len(loc) == 3 && loc[2] == "rotation":
		return "known keys: method, admin, project_id"
	case len(loc) == 3 && loc[2] == "federation":
		return "known keys: organization_id, rule_id, service_account_id, audience"
	}
	return "known keys: secret_ref, scope, max_ttl_seconds, created, last_rotated, expiry_policy, revoked, revoked_at, role, mode, admin, project_id, rotation, federation (values never belong here)"
}
