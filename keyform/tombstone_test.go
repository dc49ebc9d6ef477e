package keyform

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keylease/keylease/secret"
)

func TestTombstoneRoundTripAndRefusal(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b, err := EncodeTombstone(at, "suspected-leak")
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := ParseTombstone(b)
	if !ok || !ts.At.Equal(at) || ts.Reason != "suspected-leak" {
		t.Fatalf("ParseTombstone(%s) = %+v, %v", b, ts, ok)
	}
	_, err = Decode(secret.New(b))
	var re *RevokedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRevoked) {
		t.Fatalf("Decode of a tombstone: %v, want a RevokedError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "2026-12-01T10:00:00Z") || !strings.Contains(msg, "suspected-leak") {
		t.Fatalf("message %q lacks the date or reason", msg)
	}
}

func TestTombstoneRejectsFreeTextReason(t *testing.T) {
	t.Parallel()
	if _, err := EncodeTombstone(time.Now(), "key was "+fakeKey); err == nil {
		t.Fatal("a reason with free text (here a key) was accepted")
	}
	// A hand-made tombstone with a bad reason is still refused, but the
	// reason is not repeated.
	ts, ok := ParseTombstone([]byte(`{"keylease_revoked":"x","reason":"` + fakeKey + `"}`))
	if !ok || strings.Contains(ts.Reason, fakeKey) || !ts.At.IsZero() {
		t.Fatalf("got %+v, %v", ts, ok)
	}
}

func TestNotTombstones(t *testing.T) {
	t.Parallel()
	for _, in := range []string{fakeKey, `{"api_key":"` + fakeKey + `"}`, `{"keylease_revoked"`, ``, `"keylease_revoked"`} {
		if _, ok := ParseTombstone([]byte(in)); ok {
			t.Errorf("%q taken for a tombstone", in)
		}
	}
}

func FuzzParseTombstone(f *testing.F) {
	f.Add([]byte(`{"keylease_revoked":"2026-12-01T10:00:00Z","reason":"other"}`))
	f.Add([]byte(`{"api_key":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, ok := ParseTombstone(b)
		if ok && !ValidReason(ts.Reason) && ts.Reason != "no valid reason label" {
			t.Fatalf("reason %q passed through unchecked", ts.Reason)
		}
	})
}
