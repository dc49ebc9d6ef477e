package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/lease"
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
