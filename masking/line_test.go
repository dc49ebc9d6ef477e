package masking

import (
	"strings"
	"testing"
)

func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a\r\nb\nc\rd", "a; b; c; d"},
		{"x\r::add-mask::y", "x; ::add-mask::y"},
		{"nel\u0085ls\u2028ps\u2029end", "nel; ls; ps; end"},
		{"bell\a esc\x1b del\x7f c1\u009b", `bell\x07 esc\x1b del\x7f c1\x9b`},
		{"bad\xffutf8 tab\tok ünïcode", `bad\xffutf8 tab` + "\t" + `ok ünïcode`},
	}
	for _, tt := range tests {
		got := OneLine(tt.in)
		if got != tt.want {
			t.Errorf("OneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.ContainsAny(got, "\r\n") {
			t.Errorf("OneLine(%q) = %q holds a line break", tt.in, got)
		}
	}
}

func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"a\r\nb", "\r::add-mask::x", "\u2028", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := OneLine(s)
		if strings.ContainsAny(got, "\r\n\u0085\u2028\u2029") {
			t.Fatalf("OneLine(%q) = %q holds a line break", s, got)
		}
	})
}
