package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/vendorapi"
)

// TestPlainOldKeyRetiredByHand: the first rotation of a secret that held a
// plain key (no vendor id) cannot retire it: the record says "manual" with
// the step to take, the run succeeds, and the next run is not blocked.
func TestPlainOldKeyRetiredByHand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, w.oldVID = w.stack.SM.Put(w.stack.Region, "openai/ci", smfake.Value{String: w.oldKey})
	w.stack.SM.Faults.ResetCounts()
	res, err := w.rotate(w.options())
	if err != nil {
		t.Fatal(err)
	}
	var retire *Step
	for i := range res.Records[0].Steps {
		if res.Records[0].Steps[i].Name == StepRetire {
			retire = &res.Records[0].Steps[i]
		}
	}
	if retire == nil || retire.Outcome != OutcomeManual || !strings.Contains(retire.Detail, "disable the old key at the vendor by hand") {
		t.Fatalf("retire step %+v", retire)
	}
	if tag := w.stack.SM.Tags(w.stack.Region, "openai/ci")[StateTag]; !strings.Contains(tag, "retire=manual") {
		t.Fatalf("state tag %q", tag)
	}
	o := w.options()
	o.Force = true
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("a manual retire blocked the next rotation: %v", err)
	}
}

// TestNoNewRotationWhileRetirePending: a forced rotation while the previous
// old key is still retire pending (and not yet due) is refused, exit 3: it
// would drop the label of a key that is live at the vendor.
func TestNoNewRotationWhileRetirePending(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = 24 * time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatal(err)
	}
	o.Force = true
	_, err := w.rotate(o)
	var le *lease.Error
	if !errors.As(err, &le) || le.Code != lease.ExitLease || !strings.Contains(err.Error(), "retire pending until") {
		t.Fatalf("err %v, want exit 3 naming the pending retirement", err)
	}
	if n := w.oa.ServiceAccounts(project); n != 2 {
		t.Fatalf("%d service accounts, want 2 (new current, old pending retire)", n)
	}
}

// TestForcedRotateInRetireWindowSaysWhen: a forced rotation a day into a
// week's retire-after is refused (the old key is live and would lose its
// label); the error names the retire time and does not send the operator
// to a shorter --retire-after, which the kept retire time ignores.
func TestForcedRotateInRetireWindowSaysWhen(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = 7 * 24 * time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	due := w.now.Add(o.RetireAfter).UTC().Format(time.RFC3339)
	w.now = w.now.Add(24 * time.Hour)
	ro := w.options()
	ro.Force = true
	_, err := w.rotate(ro)
	if err == nil {
		t.Fatal("a forced rotation started while the old key was retire pending")
	}
	if msg := err.Error(); !strings.Contains(msg, due) || strings.Contains(msg, "or with a shorter --retire-after") {
		t.Fatalf("error %q: want the retire time %s and no advice the kept time ignores", msg, due)
	}
	if v := w.verdict(w.oldKey); v != vendorapi.Valid {
		t.Fatalf("the old key is %s: retired before its time", v)
	}
}
