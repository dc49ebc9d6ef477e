package lifecycle

import (
	"testing"
	"time"
)

// TestRevStateRoundTrip: the tag written is the tag read; a hand-edited or
// partial tag is ignored, not trusted.
func TestRevStateRoundTrip(t *testing.T) {
	t.Parallel()
	s := revState{ID: revocationID("openai", "ci", "v1"), Version: "v1", At: time.Unix(1764590400, 0).UTC(),
		Vendor: progDone, Verify: "invalid", Local: progDone, Registry: progSkipped}
	got, ok := parseRevState(s.String())
	if !ok || got != s {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	if !got.complete() {
		t.Fatal("a finished revocation is not complete")
	}
	for _, bad := range []string{"", "rev=x version=v1", s.String() + " extra", "rev=a version=v1 at=soon vendor=done verify=invalid local=done registry=done",
		"rev=a version=v1 at=1 vendor=done verify=invalid local=done registry=$(x)"} {
		if _, ok := parseRevState(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	pending := s
	pending.Vendor = progFailed
	if pending.complete() {
		t.Fatal("a failed vendor step counts as complete")
	}
}
