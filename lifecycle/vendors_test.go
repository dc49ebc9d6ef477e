package lifecycle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// swapVendor rewrites the world's registry and secrets for vendor (the
// OpenAI parts stay unused).
func (w *world) swapVendor(vendor, method, project, admin, current string) {
	w.t.Helper()
	reg := strings.ReplaceAll(registryText, "openai", vendor)
	reg = strings.Replace(reg, "method: mint", "method: "+method, 1)
	if project == "" {
		reg = strings.Replace(reg, `      project_id: "proj_abc"`+"\n", "", 1)
	} else {
		reg = strings.Replace(reg, `project_id: "proj_abc"`, `project_id: "`+project+`"`, 1)
	}
	write(w.t, w.reg, reg)
	pol := strings.Replace(policyText, `["openai"]`, `["`+vendor+`"]`, 1)
	pol = strings.Replace(pol, `{"openai": "sk-"}`, `{}`, 1)
	write(w.t, w.pol, pol)
	w.stack.SM.Put(w.stack.Region, vendor+"/admin", smfake.Value{String: admin})
	_, w.oldVID = w.stack.SM.Put(w.stack.Region, vendor+"/ci", smfake.Value{String: current})
	w.secrets = append(w.secrets, admin, current)
	w.stack.SM.Faults.ResetCounts()
}

func (w *world) stagesOf(name string) map[string][]string {
	return w.stack.SM.Stages(w.stack.Region, name)
}

// xaiWorld is a world whose xAI calls (API and management) go to a fresh
// fake.
func xaiWorld(t *testing.T) (*world, *vendorfake.XAI) {
	t.Helper()
	w := newWorld(t)
	xs, err := vendorfake.StartXAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = xs.Close() })
	w.vars["XAI_BASE_URL"], w.vars["XAI_MANAGEMENT_URL"] = xs.BaseURL(), xs.URL()
	return w, xs
}

// TestXAIMintWaitsForPropagation: xAI's new key is tested only once the
// management API says it has propagated; the old key is deleted.
func TestXAIMintWaitsForPropagation(t *testing.T) {
	t.Parallel()
	w, xs := xaiWorld(t)
	xs.PropagationPolls = 2
	mgmt := xs.AddManagementKey()
	oldID, oldKey := xs.AddKey("team_1", "initial", false)
	form, _ := keyform.Encode(secret.FromString(oldKey), oldID, nil)
	w.swapVendor("xai", "mint", "team_1", mgmt, string(form.Bytes()))
	w.secrets = append(w.secrets, oldKey)
	o := w.options()
	o.Vendor = "xai"
	var slept time.Duration
	o.Sleep = func(_ context.Context, d time.Duration) error { slept += d; return nil }
	res, err := w.rotate(o)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	// The fake answers "not yet" before the key goes live: at least one
	// wait, one poll per wait plus the final one.
	if n := xs.Faults.Count(vendorfake.OpXAIPropagation); n < 2 || slept != time.Duration(n-1)*propagationWait {
		t.Fatalf("propagation polled %d times, slept %s", n, slept)
	}
	if xs.Keys("team_1") != 1 || res.Records[0].Validity != "valid" {
		t.Fatalf("%d xAI keys live (want 1), validity %s", xs.Keys("team_1"), res.Records[0].Validity)
	}
	for id := range w.stagesOf("xai/ci") {
		if v, ok := w.stack.SM.Value(w.stack.Region, "xai/ci", id); ok {
			w.secrets = append(w.secrets, v.String)
		}
	}
	w.check("stderr", w.stderr.Bytes())
}

// TestAnthropicStagedRotation: an operator put AWSPENDING (the JSON form
// with the new key's id); rotate tests, promotes and retires the old key by
// status inactive, since Anthropic has no create or delete by API.
func TestAnthropicStagedRotation(t *testing.T) {
	t.Parallel()
	w, sw := stagedWorld(t)
	an, oldID, newID, newKey, pend := sw.an, sw.oldID, sw.newID, sw.newKey, sw.pend
	o := w.options()
	o.Vendor = "anthropic"
	res, err := w.rotate(o)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	st := w.stagesOf("anthropic/ci")
	if len(st[pend]) != 1 || st[pend][0] != "AWSCURRENT" || st[w.oldVID][0] != "AWSPREVIOUS" {
		t.Fatalf("stages %v", st)
	}
	if an.Status(oldID) != "inactive" || an.Status(newID) != "active" {
		t.Fatalf("old key %s, new key %s; want inactive, active", an.Status(oldID), an.Status(newID))
	}
	if res.Records[0].OldKeyID != oldID || res.Records[0].NewKeyID != newID || !res.Records[0].Resumed {
		t.Fatalf("record %+v", res.Records[0])
	}
	c, _ := vendorapi.NewAnthropic(vendorapi.Options{Getenv: w.getenv})
	if v, _ := c.Check(context.Background(), secret.FromString(newKey)); v != vendorapi.Valid {
		t.Fatalf("new key %s", v)
	}
}
