package lifecycle

import (
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/vendorapi"
)

// TestIncidentDuringRetireWindow: a rotation with a week's retire-after
// left the older key pending; a day later the current key leaks. The
// incident disables the current key, so the replacement must still come
// in: the rotation may not wait for the older key's retire time.
func TestIncidentDuringRetireWindow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.options()
	o.RetireAfter = 7 * 24 * time.Hour
	if _, err := w.rotate(o); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	_, leaked := w.keyAt("AWSCURRENT")
	w.now = w.now.Add(24 * time.Hour)
	res, err := w.incident(w.incidentOptions())
	if err != nil {
		t.Fatalf("incident: %v\n%s", err, w.stderr.String())
	}
	_, cur := w.keyAt("AWSCURRENT")
	if cur == leaked || w.verdict(cur) != vendorapi.Valid || w.verdict(leaked) != vendorapi.Invalid {
		t.Fatalf("no valid replacement after the incident: %+v", res.Record.Steps)
	}
	// The older key, past the TTL cap since its promotion, is retired
	// first (the rotation would otherwise drop its label while it is
	// live), and the record says so.
	if w.verdict(w.oldKey) != vendorapi.Invalid {
		t.Fatal("the previous rotation's old key is still live")
	}
	if n := w.oa.ServiceAccounts(project); n != 1 {
		t.Fatalf("%d service accounts live, want the replacement's alone", n)
	}
	var detail string
	for _, s := range res.Record.Steps {
		if s.Name == IncStepRotate {
			detail = s.Detail
		}
	}
	if !strings.Contains(detail, "previous rotation's old key (version "+w.oldVID+")") {
		t.Fatalf("the rotate step does not say the older key was retired: %q", detail)
	}
}
