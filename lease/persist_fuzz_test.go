package lease

import (
	"bytes"
	"slices"
	"testing"
	"unicode"
)

// FuzzCommandGuard: however the child's output is split into writes, the
// guard passes and refuses the same; what it passes is the input itself
// unless it refused a command, and a refused command's value never passes.
func FuzzCommandGuard(f *testing.F) {
	f.Add([]byte("a\n::set-output name=k::"+testKey+"\nb\n"), []byte{1, 5, 3})
	f.Add([]byte(" \u00a0::SAVE-STATE name=s::x%0A"+testKey), []byte{2})
	f.Add([]byte("log ##[set-env name=K;]"+testKey+"\r\n::debug::ok\n"), []byte{7, 1})
	f.Add([]byte("::set-output name=k::clean\n::add-path::/bin\n"), []byte{4})
	f.Fuzz(func(t *testing.T, in, splits []byte) {
		scan := commandScan(t)
		run := func(sizes []byte) ([]byte, []string) {
			var out bytes.Buffer
			g := newCommandGuard(&out, scan)
			rest, k := in, 0
			for len(rest) > 0 {
				n := len(rest)
				if k < len(sizes) {
					n = min(int(sizes[k])+1, n)
					k++
				}
				if w, err := g.Write(rest[:n]); w != n || err != nil {
					t.Fatalf("Write = %d, %v", w, err)
				}
				rest = rest[n:]
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			return out.Bytes(), g.Refused()
		}
		whole, wholeRefused := run(nil)
		split, splitRefused := run(splits)
		if !bytes.Equal(whole, split) || !slices.Equal(wholeRefused, splitRefused) {
			t.Fatalf("split writes changed the result: %d vs %d bytes, refused %v vs %v", len(whole), len(split), wholeRefused, splitRefused)
		}
		if len(wholeRefused) == 0 && !bytes.Equal(whole, in) {
			t.Fatalf("nothing refused but the output differs from the input (%d vs %d bytes)", len(whole), len(in))
		}
		if want := referenceGuard(in, scan); !bytes.Equal(whole, want) {
			t.Fatalf("output differs from the reference: %d vs %d bytes", len(whole), len(want))
		}
	})
}

// referenceGuard is the guard's rule written line by line: a line that is a
// persisting command keeps only what precedes the end of its name when the
// rest holds anything scan finds.
func referenceGuard(in []byte, scan func([]byte) int) []byte {
	var out []byte
	for len(in) > 0 {
		end := bytes.IndexAny(in, "\r\n")
		line, brk := in, []byte(nil)
		if end >= 0 {
			line, brk = in[:end], in[end:end+1]
		}
		in = in[len(line)+len(brk):]
		if cut := commandCut(line); cut >= 0 && scan(line[cut:]) > 0 {
			line = line[:cut]
		}
		out = append(append(out, line...), brk...)
	}
	return out
}

// commandCut is the offset after a persisting command's name terminator in
// line, or -1.
func commandCut(line []byte) int {
	nameEnd := func(at int, v1 bool) int {
		j := at
		for j < len(line) && j-at <= maxCommandName && (line[j] == '-' || 'a' <= line[j]|0x20 && line[j]|0x20 <= 'z') {
			j++
		}
		if j-at > maxCommandName || j == len(line) {
			return -1
		}
		if c := line[j]; c != ' ' && (v1 || c != ':') && (!v1 || c != ']') {
			return -1
		}
		if _, ok := persisting(bytes.ToLower(line[at:j])); !ok {
			return -1
		}
		return j + 1
	}
	lead := bytes.TrimLeftFunc(line, unicode.IsSpace)
	if off := len(line) - len(lead); bytes.HasPrefix(lead, []byte("::")) {
		if c := nameEnd(off+2, false); c >= 0 {
			return c
		}
	}
	for i := 0; i+3 <= len(line); i++ {
		if string(line[i:i+3]) == "##[" {
			if c := nameEnd(i+3, true); c >= 0 {
				return c
			}
		}
	}
	return -1
}
