package masking

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keylease/keylease/detect/detecttest"
)

// fakeKey returns n deterministic random characters from alphabet; the keys
// built from it have the real formats' shapes but are not real credentials.
func fakeKey(seed uint64, n int, alphabet string) string {
	r := rand.New(rand.NewPCG(seed, 7)) // #nosec G404 -- deterministic fake keys on purpose
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	alnumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	keyAlpha   = alnumChars + "_-"
)

func fakeJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		enc([]byte(`{"sub":"repo:octo/app:ref:refs/heads/main","aud":"sts.amazonaws.com"}`)) + "." +
		fakeKey(9, 342, keyAlpha)
}

func fakePEM(label string) string {
	body := fakeKey(11, 256, alnumChars+"+/")
	var lines []string
	for i := 0; i < len(body); i += 64 {
		lines = append(lines, body[i:min(i+64, len(body))])
	}
	return "-----BEGIN " + label + "-----\n" + strings.Join(lines, "\n") + "\n-----END " + label + "-----"
}

func TestDetectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want string // detector name, "" for no finding
	}{
		// true positives
		{"openai project", "OPENAI_API_KEY=sk-proj-" + fakeKey(1, 74, keyAlpha) + "T3BlbkFJ" + fakeKey(2, 74, keyAlpha), "openai-project-key"},
		{"openai service account", "key: sk-svcacct-" + fakeKey(3, 120, keyAlpha), "openai-service-account-key"},
		{"openai admin", "sk-admin-" + fakeKey(4, 120, keyAlpha), "openai-admin-key"},
		{"openai legacy", `"sk-` + fakeKey(5, 20, alnumChars) + "T3BlbkFJ" + fakeKey(6, 20, alnumChars) + `"`, "openai-key"},
		{"anthropic", "x-api-key: sk-ant-api03-" + fakeKey(7, 93, keyAlpha) + "AA", "anthropic-api-key"},
		{"anthropic admin", "sk-ant-admin01-" + fakeKey(8, 93, keyAlpha) + "AA\n", "anthropic-admin-key"},
		{"xai", "XAI_API_KEY=xai-" + fakeKey(10, 80, alnumChars), "xai-api-key"},
		{"aws access key id", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", "aws-access-key-id"},
		{"aws session key id", "ASIA" + fakeKey(12, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), "aws-access-key-id"},
		{"github classic", "token ghp_" + fakeKey(13, 36, alnumChars), "github-token"},
		{"github app", "ghs_" + fakeKey(14, 36, alnumChars) + ".", "github-token"},
		{"github fine grained", "github_pat_" + fakeKey(15, 22, alnumChars) + "_" + fakeKey(16, 59, alnumChars), "github-fine-grained-token"},
		{"jwt", "Authorization: Bearer " + fakeJWT(), "jwt"},
		{"rsa private key", fakePEM("RSA PRIVATE KEY"), "private-key"},
		{"openssh private key", "key: |\n" + fakePEM("OPENSSH PRIVATE KEY"), "private-key"},
		{"pkcs8 key in json", strings.ReplaceAll(`{"private_key":"`+fakePEM("PRIVATE KEY")+`"}`, "\n", `\n`), "private-key"},
		// false positives
		{"sklearn", "import sklearn; pip install scikit-learn sk-learn==1.4.2", ""},
		{"hyphenated words", "see sk-this-is-not-a-key-but-a-long-hyphenated-identifier", ""},
		{"sk inside word", "task-" + fakeKey(17, 48, alnumChars), ""},
		{"sk lowercase hex", "sk-" + fakeKey(18, 48, "0123456789abcdef"), ""},
		{"openai too short", "sk-proj-abc123DEF", ""},
		{"xai model name", "model: xai-grok-4-fast-reasoning-latest-preview-2025", ""},
		{"aws too short", "AKIA1234567890ABCDE", ""},
		{"aws too long", "AKIAIOSFODNN7EXAMPLEX", ""},
		{"aws lowercase", "AKIAiosfodnn7example", ""},
		{"github short", "ghp_shorttoken123", ""},
		{"jwt header only", "eyJhbGciOiJIUzI1NiJ9 is a header", ""},
		{"jwt two parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0", ""},
		{"public key", fakePEM("PUBLIC KEY"), ""},
		{"pem placeholder", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----", ""},
		{"certificate", fakePEM("CERTIFICATE"), ""},
		{"anthropic placeholder", "ANTHROPIC_API_KEY=sk-ant-api03-" + strings.Repeat("x", 95), ""},
		{"anthropic too short", "sk-ant-api03-" + fakeKey(19, 40, alnumChars), ""},
		{"anthropic admin placeholder", "sk-ant-admin01-" + strings.Repeat("X", 93) + " in the docs", ""},
		{"anthropic admin too short", "sk-ant-admin01-" + fakeKey(20, 30, alnumChars), ""},
		{"github fine grained too short", "github_pat_" + fakeKey(21, 40, alnumChars), ""},
		{"github fine grained placeholder", "github_pat_<your-token-here>", ""},
	}
	sc := NewScanner(ScanOptions{Detectors: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := sc.Scan([]byte(tt.text))
			if tt.want == "" {
				if len(fs) != 0 {
					t.Fatalf("false positive: %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Detector != tt.want {
				t.Fatalf("findings %+v, want one %q", fs, tt.want)
			}
			if fs[0].Ref != "" {
				t.Errorf("detector finding carries a ref")
			}
			got := tt.text[fs[0].Offset : fs[0].Offset+int64(fs[0].Length)]
			if len(got) < 20 {
				t.Errorf("finding covers only %d bytes", len(got))
			}
		})
	}
}

func TestPolicyPrefixDetector(t *testing.T) {
	t.Parallel()
	sc := NewScanner(ScanOptions{Prefixes: map[string]string{"mistral": "mst-", "openai": "sk-", "anthropic": "sk-ant-"}})
	tests := []struct {
		text, want string
	}{
		{"MISTRAL_API_KEY=mst-" + fakeKey(20, 32, alnumChars), "policy:mistral"},
		{"sk-ant-" + fakeKey(21, 40, alnumChars), "policy:anthropic"},
		{"sk-ant-api03-" + fakeKey(22, 95, keyAlpha), "anthropic-api-key"},
		{"mst-short", ""},
		{"almst-" + fakeKey(23, 32, alnumChars), ""},
	}
	for _, tt := range tests {
		fs := sc.Scan([]byte(tt.text))
		switch {
		case tt.want == "" && len(fs) != 0:
			t.Errorf("%.12q: false positive %+v", tt.text, fs)
		case tt.want != "" && (len(fs) != 1 || fs[0].Detector != tt.want):
			t.Errorf("%.12q: findings %+v, want %q", tt.text, fs, tt.want)
		}
	}
}

// TestScannerCorpus runs the shared corpus (detect/testdata/corpus.txt)
// through the scanner, one text at a time and all of them in one stream
// between log noise, so the scanner's prefix search and package detect's
// rules give the corpus's verdicts. registry's LooksLikeValue is tested
// against the same file.
func TestScannerCorpus(t *testing.T) {
	t.Parallel()
	cases, err := detecttest.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScanner(ScanOptions{Detectors: true})
	// keylease scan's scanner: the same verdicts, less the documented
	// examples, unless a fingerprint names one.
	src := NewScanner(ScanOptions{Detectors: true, SkipExamples: true})
	var stream bytes.Buffer
	var want []string
	for _, c := range cases {
		var got []string
		for _, f := range sc.Scan([]byte(c.Text)) {
			got = append(got, f.Detector)
		}
		if c.Scan == "" && len(got) > 0 || c.Scan != "" && (len(got) != 1 || got[0] != c.Scan) {
			t.Errorf("corpus line %d: scanner found %q, want %q", c.Line, got, c.Scan)
		}
		got = got[:0]
		for _, f := range src.Scan([]byte(c.Text)) {
			got = append(got, f.Detector)
		}
		if wantSrc := c.Scan != "" && !c.Example; wantSrc && (len(got) != 1 || got[0] != c.Scan) || !wantSrc && len(got) > 0 {
			t.Errorf("corpus line %d: scanner with SkipExamples found %q, want %q unless an example", c.Line, got, c.Scan)
		}
		stream.WriteString("INFO request completed status=200 path=/v1/chat/completions\n")
		stream.WriteString(c.Text)
		stream.WriteString("\n")
		if c.Scan != "" {
			want = append(want, c.Scan)
		}
	}
	fs, err := sc.ScanReader(&stream)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Detector)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("scanning the corpus as one stream found\n%q\nwant\n%q", got, want)
	}
}

// TestNoFindingsInSource scans this repository's own Go files: product
// source (identifiers, hashes, UUIDs, base64) must not trip a detector.
// Test files hold fake keys on purpose and testdata holds fixtures; both
// are exempt.
func TestNoFindingsInSource(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScanner(ScanOptions{Detectors: true})
	files := 0
	got := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		files++
		fs, err := sc.ScanFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, f := range fs {
			if !slices.Contains(got[rel], f.Detector) {
				got[rel] = append(got[rel], f.Detector)
			}
		}
		slices.Sort(got[rel])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned only %d .go files under %s: wrong root?", files, root)
	}
	fakes := 0
	for file, dets := range got {
		if strings.HasSuffix(file, "_test.go") {
			fakes++ // tests hold fake keys on purpose, to prove they never leak
			continue
		}
		t.Errorf("%s: product code trips detectors %q", file, dets)
	}
	// The detectors do see the fakes that tests hold on purpose: a scanner
	// that finds nothing anywhere would pass the check above.
	if fakes == 0 {
		t.Error("no findings in any test file: the scanner saw nothing")
	}
}

// BenchmarkScanDetectors is the vendor detectors alone (no exact forms, no
// fingerprints) over the scanner benchmark's corpus with keys embedded.
func BenchmarkScanDetectors(b *testing.B) {
	_, forms := benchSet(b)
	corpus := benchCorpus(32<<20, forms, true)
	sc := NewScanner(ScanOptions{Detectors: true})
	b.SetBytes(int64(len(corpus)))
	n := 0
	for b.Loop() {
		n = len(sc.Scan(corpus))
	}
	b.ReportMetric(float64(n), "findings")
}

// TestPrefixStartsEveryPrefix: the anchors find every detector prefix,
// policy ones included, wherever it lies, across the 64 KiB blocks the
// search works in too.
func TestPrefixStartsEveryPrefix(t *testing.T) {
	t.Parallel()
	sc := NewScanner(ScanOptions{Prefixes: map[string]string{"mistral": "mst-", "groq": "gsk_", "odd": "QQ"}})
	for _, a := range sc.anchors {
		for _, u := range a.users {
			if u.prefix[u.off] != a.c {
				t.Errorf("anchor %q is not at offset %d of its prefix", a.c, u.off)
			}
		}
	}
	prefixes := sc.rules.Prefixes()
	buf := bytes.Repeat([]byte(" "), (len(prefixes)+2)<<16)
	var want []int
	pos := 1000
	for k, p := range prefixes {
		// across, on or just after a block boundary of its own
		at := (k+1)<<16 - len(p) + k%(len(p)+2)
		for _, st := range []int{pos, at} {
			if copy(buf[st:], p) != len(p) {
				t.Fatal("buffer too short")
			}
			want = append(want, st)
		}
		pos += 100
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if got := sc.prefixStarts(buf, nil); !slices.Equal(got, want) {
		t.Errorf("prefix starts %v, want %v", got, want)
	}
}
