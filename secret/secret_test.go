package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const canary = "sk-canary-7f3a9c1e2b4d6f80"

func TestValueNeverFormats(t *testing.T) {
	t.Parallel()
	v := FromString(canary)
	type holder struct {
		Key  Value
		Ptr  *Value
		Keys []Value
	}
	h := holder{Key: v, Ptr: &v, Keys: []Value{v}}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &v))
	}
	outs = append(outs, fmt.Sprint(v), fmt.Sprintln(v, h), v.String(), v.GoString())
	outs = append(outs, fmt.Errorf("wrapped: %w: %v", errors.New("x"), v).Error())

	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	txt, _ := v.MarshalText()
	outs = append(outs, string(txt))

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("lease", "key", v, "holder", h)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("lease", "key", v)
	outs = append(outs, logged.String())

	for _, out := range outs {
		if strings.Contains(out, canary) || strings.Contains(out, fmt.Sprintf("%x", canary)) ||
			strings.Contains(out, "canary") {
			t.Errorf("secret form printed: %q", out)
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", v), Redacted) {
		t.Errorf("%%v = %q, want %q", fmt.Sprintf("%v", v), Redacted)
	}
}

func TestNewCopiesAndWipe(t *testing.T) {
	t.Parallel()
	src := []byte(canary)
	v := New(src)
	src[0] = 'X'
	if got := string(v.Bytes()); got != canary {
		t.Fatalf("New did not copy: value changed with its source")
	}
	if v.Len() != len(canary) || v.IsZero() {
		t.Fatalf("Len/IsZero wrong: %d %v", v.Len(), v.IsZero())
	}
	fp := v.Fingerprint()
	if len(fp) != 64 || strings.Contains(fp, canary) {
		t.Fatalf("fingerprint %q", fp)
	}
	v.Wipe()
	if !bytes.Equal(v.Bytes(), make([]byte, len(canary))) {
		t.Fatalf("Wipe left bytes behind")
	}
	if !(Value{}).IsZero() {
		t.Fatal("zero Value not IsZero")
	}
}
