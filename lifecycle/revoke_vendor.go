package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"github.com/keylease/keylease/detect"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// KeyDisabler disables the vendor key behind one stored version. It
// returns what it did ("service account svc_… deleted"), or a ManualStep
// when the key cannot be disabled by API (no admin key, no key id, no call
// at the vendor).
type KeyDisabler interface {
	DisableKey(ctx context.Context, st keyform.Stored) (done string, manual *ManualStep, err error)
}

// ManualStep is what an operator does by hand at the vendor's console:
// where, which key (its id and a hint, never the value) and why by hand.
type ManualStep struct {
	Console string `json:"console"`
	Action  string `json:"action"`
	KeyID   string `json:"key_id,omitempty"`
	KeyHint string `json:"key_hint,omitempty"`
	Why     string `json:"why"`
}

func (m *ManualStep) String() string {
	which := m.KeyID
	if m.KeyHint != "" {
		if which != "" {
			which += ", "
		}
		which += "shown as " + m.KeyHint
	}
	if which != "" {
		which = " (" + which + ")"
	}
	return m.Action + which + " at " + m.Console + "; by hand because " + m.Why
}

// keyHint is the key as vendor consoles show it: its detected prefix and
// last four characters, never more of the value.
func keyHint(key secret.Value) string {
	b := key.Bytes()
	if len(b) < 20 {
		return ""
	}
	prefix := ""
	if _, ok := detect.Name(string(b)); ok {
		for _, p := range []string{"sk-ant-api03-", "sk-svcacct-", "sk-proj-", "sk-admin-", "xai-", "sk-"} {
			if strings.HasPrefix(string(b), p) {
				prefix = p
				break
			}
		}
	}
	return prefix + "…" + string(b[len(b)-4:])
}

// openaiDisabler deletes an OpenAI key: the owning service account for a
// service-account key (OpenAI refuses to delete those keys one by one), the
// project key for a user key.
type openaiDisabler struct {
	p       *vendorapi.OpenAIProject // nil without an admin key
	project string
}

func (d openaiDisabler) manual(st keyform.Stored, why string) *ManualStep {
	return &ManualStep{Console: "https://platform.openai.com/settings/organization/api-keys", KeyID: st.KeyID, KeyHint: keyHint(st.Key),
		Action: "delete the key (a service-account key: delete its service account) in project " + orUnknown(d.project), Why: why}
}

func (d openaiDisabler) DisableKey(ctx context.Context, st keyform.Stored) (string, *ManualStep, error) {
	switch {
	case d.p == nil:
		return "", d.manual(st, "the entry names no admin entry (rotation.admin or admin)"), nil
	case d.project == "":
		return "", d.manual(st, "the entry names no project_id"), nil
	}
	if sa := st.IDs[retireIDField]; sa != "" {
		if err := d.p.DeleteServiceAccount(ctx, sa); err != nil && !gone(err) {
			return "", nil, err
		}
		return "service account " + sa + " deleted", nil, nil
	}
	if st.KeyID == "" {
		return "", d.manual(st, "the stored version carries no key_id"), nil
	}
	keys, err := d.p.APIKeys(ctx)
	if err != nil {
		return "", nil, err
	}
	for _, k := range keys {
		if k.ID != st.KeyID {
			continue
		}
		if k.OwnerType == "service_account" && k.OwnerID != "" {
			if err := d.p.DeleteServiceAccount(ctx, k.OwnerID); err != nil && !gone(err) {
				return "", nil, err
			}
			return "service account " + k.OwnerID + " (owner of key " + k.ID + ") deleted", nil, nil
		}
		if err := d.p.DeleteAPIKey(ctx, k.ID); err != nil && !gone(err) {
			return "", nil, err
		}
		return "project key " + k.ID + " deleted", nil, nil
	}
	// Not listed: already deleted (a rerun), or in another project. The
	// verification that follows tells the two apart.
	return "key " + st.KeyID + " is no longer listed in project " + d.project, nil, nil
}

// anthropicDisabler sets the key inactive (Anthropic has no delete by API).
type anthropicDisabler struct{ org *vendorapi.AnthropicOrg }

func (d anthropicDisabler) DisableKey(ctx context.Context, st keyform.Stored) (string, *ManualStep, error) {
	manual := func(why string) *ManualStep {
		return &ManualStep{Console: "https://console.anthropic.com/settings/keys", KeyID: st.KeyID, KeyHint: keyHint(st.Key), Action: "set the key inactive", Why: why}
	}
	switch {
	case d.org == nil:
		return "", manual("the entry names no admin entry (rotation.admin or admin)"), nil
	case st.KeyID == "":
		return "", manual("the stored version carries no key_id"), nil
	}
	if err := d.org.Disable(ctx, st.KeyID); err != nil {
		return "", nil, err
	}
	return "key " + st.KeyID + " set inactive", nil, nil
}

// xaiDisabler deletes the key, found by its stored key_id or else by
// asking xAI which key the value is (GET /api-key).
type xaiDisabler struct {
	x    *vendorapi.XAI
	team *vendorapi.XAITeam // nil without a management key
}

func (d xaiDisabler) DisableKey(ctx context.Context, st keyform.Stored) (string, *ManualStep, error) {
	id := st.KeyID
	if id == "" {
		// The key itself says which it is; an invalid key (already
		// deleted) cannot, and the verification tells.
		kid, err := d.x.KeyID(ctx, st.Key)
		if err != nil {
			if v, _ := d.x.Check(ctx, st.Key); v == vendorapi.Invalid {
				return "the key is already invalid at xAI", nil, nil
			}
			return "", nil, fmt.Errorf("find the key's id (GET /v1/api-key): %w", err)
		}
		id = kid
	}
	if d.team == nil {
		return "", &ManualStep{Console: "https://console.x.ai", KeyID: id, KeyHint: keyHint(st.Key), Action: "delete the API key",
			Why: "the entry names no admin entry (rotation.admin or admin)"}, nil
	}
	if err := d.team.DeleteKey(ctx, id); err != nil && !gone(err) {
		return "", nil, err
	}
	return "key " + id + " deleted", nil, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// adminOf is the admin environment and project an entry names: its
// rotation block's, else a minted entry's own.
func adminOf(e *registry.Entry) (admin, project string) {
	admin, project = e.Admin, e.ProjectID
	if r := e.Rotation; r != nil {
		if r.Admin != "" {
			admin = r.Admin
		}
		if r.ProjectID != "" {
			project = r.ProjectID
		}
	}
	return admin, project
}

// revokeClients builds e's validity check and key disabler on the bounded
// transport; admin is zero when the entry has no admin entry.
func revokeClients(e *registry.Entry, vo vendorapi.Options, admin secret.Value) (vendorapi.Validator, KeyDisabler, error) {
	_, project := adminOf(e)
	switch e.Vendor {
	case "openai":
		c, err := vendorapi.NewOpenAI(vo)
		if err != nil {
			return nil, nil, err
		}
		d := openaiDisabler{project: project}
		if !admin.IsZero() {
			d.p = c.Project(admin, project)
		}
		return c, d, nil
	case "anthropic":
		c, err := vendorapi.NewAnthropic(vo)
		if err != nil {
			return nil, nil, err
		}
		var d anthropicDisabler
		if !admin.IsZero() {
			d.org = c.Org(admin)
		}
		return c, d, nil
	case "xai":
		c, err := vendorapi.NewXAI(vo)
		if err != nil {
			return nil, nil, err
		}
		d := xaiDisabler{x: c}
		if !admin.IsZero() {
			d.team = c.Team(admin, project, nil)
		}
		return c, d, nil
	}
	return nil, nil, fmt.Errorf("vendor %s has no revocation client; use openai, anthropic or xai", registry.ShownName("--vendor", e.Vendor))
}
