package masking

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func sumHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestParseFingerprints(t *testing.T) {
	t.Parallel()
	a, b := sumHex("a"), sumHex("b")
	tests := []struct {
		name    string
		in      string
		sums    map[string]string
		lengths []int
		wantErr string
	}{
		{"old form", "# ops only\n" + a + " kv://x/ci/k\n\n", map[string]string{a: "kv://x/ci/k"}, nil, ""},
		{"length form", a + " 40 kv://x/ci/k\n" + strings.ToUpper(b) + " 64 kv://y/ci/k\n" + sumHex("c") + " 40 kv://z\n",
			map[string]string{a: "kv://x/ci/k", b: "kv://y/ci/k", sumHex("c"): "kv://z"}, []int{40, 64}, ""},
		{"mixed forms hash every length", a + " 40 kv://x\n" + b + " kv://y\n", map[string]string{a: "kv://x", b: "kv://y"}, nil, ""},
		{"a number alone is an old-form ref", a + " 40\n", map[string]string{a: "40"}, nil, ""},
		{"not hex", "zz kv://x\n", nil, nil, "line 1: want"},
		{"short length", "\n" + a + " 8 kv://x\n", nil, nil, "line 2: length must be"},
		{"huge length", a + " 99999999999999999999 kv://x\n", nil, nil, "line 1: length must be"},
		{"overlong line", a + " " + strings.Repeat("r", maxFingerprintLine) + "\n", nil, nil, "after line 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := ParseFingerprints(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Sums) != len(tt.sums) {
				t.Fatalf("sums %v, want %v", l.Sums, tt.sums)
			}
			for k, v := range tt.sums {
				if l.Sums[k] != v {
					t.Errorf("sum %s -> %q, want %q", k, l.Sums[k], v)
				}
			}
			if len(l.Lengths) != len(tt.lengths) {
				t.Fatalf("lengths %v, want %v", l.Lengths, tt.lengths)
			}
			for i := range l.Lengths {
				if l.Lengths[i] != tt.lengths[i] {
					t.Errorf("lengths %v, want %v", l.Lengths, tt.lengths)
				}
			}
		})
	}
}

// TestScanFingerprintLengths: with lengths, a listed value is found (with
// padding and trailing dots as before) and a value of an unlisted length is
// not hashed, so it is not found even though its digest is listed.
func TestScanFingerprintLengths(t *testing.T) {
	t.Parallel()
	v := fakeKey(7, 40, alnumChars)
	other := fakeKey(8, 33, alnumChars)
	fps := map[string]string{sumHex(v): "kv://a/ci/k", sumHex(other): "kv://b/ci/k", sumHex(v + "=="): "kv://pad/ci/k"}
	tests := []struct {
		name    string
		lengths []int
		text    string
		want    []string // refs found
	}{
		{"listed length", []int{40}, "x=" + v + " y", []string{"kv://a/ci/k"}},
		{"trailing dots", []int{40}, "see " + v + "... end", []string{"kv://a/ci/k"}},
		{"padding", []int{42}, "t " + v + "== z", []string{"kv://pad/ci/k"}},
		{"unlisted length not hashed", []int{40}, "y " + other + " z", nil},
		{"no lengths: every token", nil, "y " + other + " z " + v, []string{"kv://b/ci/k", "kv://a/ci/k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := NewScanner(ScanOptions{Fingerprints: fps, FingerprintLengths: tt.lengths})
			got := sc.Scan([]byte(tt.text))
			var refs []string
			for _, f := range got {
				refs = append(refs, f.Ref)
			}
			if strings.Join(refs, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("refs %v, want %v", refs, tt.want)
			}
			assertFindingsHoldNoText(t, got, v, other)
		})
	}
}

// FuzzParseFingerprints: any input is a list or an error naming a line;
// every accepted digest is 64 lower-case hex digits and every length in
// range.
func FuzzParseFingerprints(f *testing.F) {
	f.Add([]byte("# c\n" + sumHex("a") + " 40 kv://x/ci/k\n" + sumHex("b") + " kv://y\n"))
	f.Add([]byte(sumHex("a") + " 16 r\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseFingerprints(strings.NewReader(string(b)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") && !strings.HasPrefix(err.Error(), "after line ") {
				t.Fatalf("error %q names no line", err)
			}
			return
		}
		for s := range l.Sums {
			if !ValidFingerprint(s) || strings.ToLower(s) != s {
				t.Fatalf("accepted digest %q", s)
			}
		}
		for _, n := range l.Lengths {
			if n < minToken || n > maxToken {
				t.Fatalf("accepted length %d", n)
			}
		}
	})
}
