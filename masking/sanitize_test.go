package masking

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/keylease/keylease/secret"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	multi := "first-line-of-key\nsecond-line-of-key"
	s := newSetOf(t, Options{}, testSecret, multi)
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"auth failed for " + testSecret, "auth failed for ***"},
		{"line: second-line-of-key.", "line: ***."},
		{fmt.Sprintf("%q", multi), `"***"`}, // Go-quoted: \n escaped like JSON
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			got := s.Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize = %q, want %q", got, tt.want)
			}
			assertNoForm(t, got, testSecret, multi)
		})
	}
}

func TestSanitizeError(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	base := &fs.PathError{Op: "open", Path: "/tmp/" + testSecret, Err: fs.ErrNotExist}
	wrapped := fmt.Errorf("reading config: %w", base)
	got := s.SanitizeError(wrapped)
	if strings.Contains(got.Error(), testSecret) {
		t.Fatalf("sanitized error still holds the value")
	}
	if got.Error() != "reading config: open /tmp/***: file does not exist" {
		t.Errorf("message %q", got.Error())
	}
	if !errors.Is(got, fs.ErrNotExist) {
		t.Errorf("errors.Is lost through sanitizing")
	}
	var pe *fs.PathError
	if !errors.As(got, &pe) {
		t.Errorf("errors.As lost through sanitizing")
	}
	clean := errors.New("nothing secret")
	if s.SanitizeError(clean) != clean { //nolint:errorlint // the very same error value must come back
		t.Errorf("an error without a form should come back unchanged")
	}
	if s.SanitizeError(nil) != nil {
		t.Errorf("nil error")
	}
	assertNoForm(t, got.Error(), testSecret)
}

func TestWritePanic(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	var out bytes.Buffer
	writePanic(s, &out, fmt.Errorf("boom with %s", testSecret), []byte("goroutine 1:\nmain.f(\""+testSecret+"\")\n"))
	got := out.String()
	if !strings.Contains(got, "internal error (panic): boom with ***") || !strings.Contains(got, `main.f("***")`) {
		t.Errorf("panic output %q", got)
	}
	assertNoForm(t, got, testSecret)
}

// TestHandlePanicProcess runs a real panicking process (this test binary,
// re-executed) and checks its stderr and exit status.
func TestHandlePanicProcess(t *testing.T) {
	t.Parallel()
	if os.Getenv("KEYLEASE_MASKING_PANIC_CHILD") == "1" {
		s := NewSet(Options{})
		_ = s.Add(secret.FromString(testSecret))
		defer HandlePanic(s, os.Stderr)
		panic("leaked " + testSecret + " in a panic")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHandlePanicProcess$") // #nosec G204 G702 -- re-executes this test binary
	cmd.Env = append(os.Environ(), "KEYLEASE_MASKING_PANIC_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1", err)
	}
	if !strings.Contains(stderr.String(), "keylease: internal error (panic): leaked *** in a panic") {
		t.Errorf("stderr %q", stderr.String())
	}
	if !strings.Contains(stderr.String(), "TestHandlePanicProcess") {
		t.Errorf("stack trace missing")
	}
	assertNoForm(t, stderr.String(), testSecret)
}
