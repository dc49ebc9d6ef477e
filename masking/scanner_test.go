package masking

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// assertFindingsHoldNoText checks that no finding field carries the value.
func assertFindingsHoldNoText(t *testing.T, fs []Finding, vals ...string) {
	t.Helper()
	for _, f := range fs {
		for _, v := range vals {
			if strings.Contains(f.Detector, v) || strings.Contains(f.Ref, v) {
				t.Fatalf("finding carries the value")
			}
		}
	}
}

func TestScanExactForms(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	sc := NewScanner(ScanOptions{Set: s})
	b64 := base64.StdEncoding.EncodeToString([]byte(testSecret))
	tests := []struct {
		name string
		text string
		want []Finding
	}{
		{"none", `{"ok":true}`, nil},
		{"value", `{"key":"` + testSecret + `"}`, []Finding{{Offset: 8, Length: len(testSecret), Detector: "exact"}}},
		{"base64", "data: " + b64, []Finding{{Offset: 6, Length: len(b64), Detector: "exact"}}},
		{"two", testSecret + " and " + testSecret, []Finding{
			{Offset: 0, Length: len(testSecret), Detector: "exact"},
			{Offset: int64(len(testSecret) + 5), Length: len(testSecret), Detector: "exact"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := sc.Scan([]byte(tt.text))
			if len(got) != len(tt.want) {
				t.Fatalf("findings %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("finding %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			assertFindingsHoldNoText(t, got, testSecret)
		})
	}
}

func TestScanFingerprints(t *testing.T) {
	t.Parallel()
	leaked := "custom-vendor-token-" + fakeKey(30, 24, alnumChars)
	openai := "sk-proj-" + fakeKey(31, 120, keyAlpha) + "T3BlbkFJ"
	fp := func(v string) string { sum := sha256.Sum256([]byte(v)); return hex.EncodeToString(sum[:]) }
	sc := NewScanner(ScanOptions{Detectors: true, Fingerprints: map[string]string{
		fp(leaked):                  "kv://custom/ci/token",
		strings.ToUpper(fp(openai)): "kv://openai/ci/api_key",
		"not-a-fingerprint":         "kv://ignored",
	}})
	if ValidFingerprint("not-a-fingerprint") || !ValidFingerprint(fp(leaked)) {
		t.Errorf("ValidFingerprint")
	}
	text := "log: token=" + leaked + "== trailing\nexport OPENAI_API_KEY=" + openai + "\n"
	got := sc.Scan([]byte(text))
	refs := map[string]bool{}
	for _, f := range got {
		if f.Detector == "fingerprint" {
			refs[f.Ref] = true
			if seen := text[f.Offset : f.Offset+int64(f.Length)]; seen != leaked && seen != openai {
				t.Errorf("fingerprint finding covers the wrong bytes")
			}
		}
	}
	if !refs["kv://custom/ci/token"] || !refs["kv://openai/ci/api_key"] {
		t.Fatalf("fingerprints found %v in %+v", refs, got)
	}
	assertFindingsHoldNoText(t, got, leaked, openai)
}

// TestSkipExamples: a documented example id is no detector finding with
// SkipExamples, is one without, and is still found by its fingerprint.
func TestSkipExamples(t *testing.T) {
	t.Parallel()
	example := "AKIA" + "IOSFODNN7EXAMPLE" // AWS's documentation id
	sum := sha256.Sum256([]byte(example))
	text := []byte("aws_access_key_id = " + example + "\n")
	for _, tt := range []struct {
		opts ScanOptions
		want string
	}{
		{ScanOptions{Detectors: true}, "aws-access-key-id"},
		{ScanOptions{Detectors: true, SkipExamples: true}, ""},
		{ScanOptions{Detectors: true, SkipExamples: true, Fingerprints: map[string]string{hex.EncodeToString(sum[:]): "kv://aws/ci/id"}}, "fingerprint"},
	} {
		var got []string
		for _, f := range NewScanner(tt.opts).Scan(text) {
			got = append(got, f.Detector)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%+v: found %q, want %q", tt.opts, got, tt.want)
		}
	}
}

// TestScanReaderChunks puts values across the chunk boundary of ScanReader
// and reads through a one-byte-at-a-time reader.
func TestScanReaderChunks(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	sc := NewScanner(ScanOptions{Set: s, Detectors: true})
	aws := "AKIAIOSFODNN7EXAMPLE" // #nosec G101 -- AWS documentation example id
	var in bytes.Buffer
	in.WriteString(strings.Repeat("x", chunkSize-10))
	in.WriteString(" " + testSecret + " ")
	in.WriteString(strings.Repeat("y ", maxToken))
	in.WriteString(aws + " ")
	in.WriteString(strings.Repeat("z", chunkSize))
	in.WriteString(" " + testSecret)
	data := in.Bytes()
	want := sc.Scan(data)
	if len(want) != 3 {
		t.Fatalf("whole-buffer scan found %+v", want)
	}
	for name, r := range map[string]func() ([]Finding, error){
		"reader":   func() ([]Finding, error) { return sc.ScanReader(bytes.NewReader(data)) },
		"one byte": func() ([]Finding, error) { return sc.ScanReader(iotest.OneByteReader(bytes.NewReader(data))) },
	} {
		got, err := r()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d findings, want %d: %+v", name, len(got), len(want), got)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: finding %d = %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "record.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := sc.ScanFile(path)
	if err != nil || len(got) != 3 {
		t.Fatalf("ScanFile: %d findings, %v", len(got), err)
	}
	_, err = sc.ScanFile(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("ScanFile missing: %v", err)
	}
	_, err = sc.ScanReader(iotest.ErrReader(errors.New("disk gone")))
	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("ScanReader error: %v", err)
	}
}
