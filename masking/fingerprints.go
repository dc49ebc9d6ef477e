package masking

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// FingerprintList is a parsed ops-only fingerprint list (SL8): digests and
// refs, never values.
type FingerprintList struct {
	// Sums maps a lower-case hex sha256 to its ref.
	Sums map[string]string
	// Lengths are the value lengths the list names, or nil when any line
	// is of the old form without a length (then every token is hashed).
	Lengths []int
}

// maxFingerprintLine bounds one line of the list: a digest, a length and a
// ref fit in far less.
const maxFingerprintLine = 4096

// ParseFingerprints reads lines of "<sha256 hex> <length> <ref>" or the
// older "<sha256 hex> <ref>"; blank lines and '#' comments are skipped. A
// length lets the scanner hash only tokens of that length. Errors name the
// line, never its content.
func ParseFingerprints(r io.Reader) (FingerprintList, error) {
	l := FingerprintList{Sums: map[string]string{}}
	seen := map[int]bool{}
	old := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxFingerprintLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		sum := strings.ToLower(fields[0])
		if _, ok := parseFingerprint(sum); !ok {
			return FingerprintList{}, fmt.Errorf("line %d: want '<sha256 hex> [<length>] <ref>' (64 hex digits first)", n)
		}
		ref := ""
		switch {
		case len(fields) >= 3 && isDigits(fields[1]):
			v, err := strconv.Atoi(fields[1])
			if err != nil || v < minToken || v > maxToken {
				return FingerprintList{}, fmt.Errorf("line %d: length must be a whole number from %d to %d", n, minToken, maxToken)
			}
			if !seen[v] {
				seen[v] = true
				l.Lengths = append(l.Lengths, v)
			}
			ref = strings.Join(fields[2:], " ")
		default: // the old form; a lone number after the digest is its ref
			old = true
			ref = strings.Join(fields[1:], " ")
		}
		l.Sums[sum] = ref
	}
	if err := sc.Err(); err != nil {
		return FingerprintList{}, fmt.Errorf("after line %d: %w", n, err)
	}
	if old {
		l.Lengths = nil
	}
	return l, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
