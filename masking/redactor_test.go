package masking

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/secret"
)

// fakeClock fires timers only when a test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves time forward and runs the timers that became due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// assertNoForm fails if any form of any of vals (value, lines, encodings)
// appears in out.
func assertNoForm(t testing.TB, out string, vals ...string) {
	t.Helper()
	for _, v := range vals {
		for _, f := range redactionForms([]byte(v)) {
			if len(f) >= MinLen && strings.Contains(out, string(f)) {
				t.Fatalf("a form of the secret (%d bytes) survived in the output", len(f))
			}
		}
	}
}

const testSecret = "sk-test-9f8e7d6c5b4a3210ZYXWVU" // #nosec G101 -- a made-up test value

func TestRedactorHoldBack(t *testing.T) {
	t.Parallel()
	type step struct {
		write   string        // bytes to write ("" for none)
		advance time.Duration // then advance the clock
		want    string        // whole output so far
	}
	tests := []struct {
		name      string
		steps     []step
		wantClose string
		wantCount int64
	}{
		{
			name: "text that cannot begin a form flows at once",
			steps: []step{
				{write: "hello world\n", want: "hello world\n"},
				{write: "more\n", want: "hello world\nmore\n"},
			},
			wantClose: "hello world\nmore\n",
		},
		{
			name: "form split across writes is masked",
			steps: []step{
				{write: "key=" + testSecret[:10], want: "key="},
				{write: testSecret[10:] + " end", want: "key=*** end"},
			},
			wantClose: "key=*** end", wantCount: 1,
		},
		{
			name: "short partial released after idle",
			steps: []step{
				{write: "prompt sk-te", want: "prompt "},
				{advance: 49 * time.Millisecond, want: "prompt "},
				{advance: time.Millisecond, want: "prompt sk-te"},
			},
			wantClose: "prompt sk-te",
		},
		{
			name: "idle clock restarts with every write",
			steps: []step{
				{write: "a sk", advance: 40 * time.Millisecond, want: "a "},
				{write: "-t", advance: 40 * time.Millisecond, want: "a "},
				{advance: 10 * time.Millisecond, want: "a sk-t"},
			},
			wantClose: "a sk-t",
		},
		{
			name: "partial of eight bytes or more is held until close and masked",
			steps: []step{
				{write: "x " + testSecret[:12], want: "x "},
				{advance: time.Hour, want: "x "},
			},
			wantClose: "x ***", wantCount: 1,
		},
		{
			name: "form completing after its start was released masks the rest",
			steps: []step{
				{write: "p: " + testSecret[:5], advance: IdleRelease, want: "p: " + testSecret[:5]},
				{write: testSecret[5:] + "!", want: "p: " + testSecret[:5] + "***!"},
			},
			wantClose: "p: " + testSecret[:5] + "***!", wantCount: 1,
		},
		{
			name: "partial ruled out is released without waiting",
			steps: []step{
				{write: "sk-test-9f", want: ""},
				{write: "X", want: "sk-test-9fX"},
			},
			wantClose: "sk-test-9fX",
		},
		{
			name: "adjacent and overlapping forms become one mask",
			steps: []step{
				{write: testSecret + testSecret + " " + testSecret + "\n", want: "*** ***\n"},
			},
			wantClose: "*** ***\n", wantCount: 2,
		},
		{
			name: "short partial at close is released unmasked",
			steps: []step{
				{write: "end sk-", want: "end "},
			},
			wantClose: "end sk-",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetOf(t, Options{}, testSecret)
			clk := newFakeClock()
			var out testkit.SyncBuffer
			r := s.newRedactor(&out, clk, IdleRelease)
			for i, st := range tt.steps {
				if st.write != "" {
					if n, err := r.Write([]byte(st.write)); err != nil || n != len(st.write) {
						t.Fatalf("step %d: Write = %d, %v", i, n, err)
					}
				}
				if st.advance > 0 {
					clk.Advance(st.advance)
				}
				if got := out.String(); got != st.want {
					t.Fatalf("step %d: output %q, want %q", i, got, st.want)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.wantClose {
				t.Errorf("after Close: %q, want %q", got, tt.wantClose)
			}
			if got := r.Redactions(); got != tt.wantCount {
				t.Errorf("Redactions = %d, want %d", got, tt.wantCount)
			}
			assertNoForm(t, out.String(), testSecret)
		})
	}
}

func TestRedactorCloseSemantics(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	clk := newFakeClock()
	var out testkit.SyncBuffer
	r := s.newRedactor(&out, clk, IdleRelease)
	if _, err := r.Write([]byte("a sk")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
	clk.Advance(time.Second) // a stopped timer must not write after Close
	if got := out.String(); got != "a sk" {
		t.Fatalf("output %q", got)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestRedactorWriterError(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	boom := errors.New("pipe closed")
	r := s.NewRedactor(failWriter{boom})
	if _, err := r.Write([]byte("text " + testSecret)); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want %v", err, boom)
	}
	if _, err := r.Write([]byte("more")); !errors.Is(err, boom) {
		t.Fatalf("second Write: %v, want sticky %v", err, boom)
	}
	if err := r.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close: %v", err)
	}
}

func TestRedactorSeesValuesAddedLater(t *testing.T) {
	t.Parallel()
	s := NewSet(Options{})
	var out bytes.Buffer
	r := s.NewRedactor(&out)
	if _, err := r.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(secret.FromString(testSecret)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write([]byte("after " + testSecret + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "before\nafter ***\n" {
		t.Fatalf("output %q", got)
	}
	assertNoForm(t, out.String(), testSecret)
}

// TestRedactorLargeWrites covers the skip-scan path (writes much longer than
// the longest form) with forms at the write boundaries.
func TestRedactorLargeWrites(t *testing.T) {
	t.Parallel()
	vals := []string{testSecret, "multi\nline-secret-value\r\nsecond-line-here", `q"u'o&t<e>%20 é`}
	s := newSetOf(t, Options{}, vals...)
	var in bytes.Buffer
	filler := strings.Repeat("log line with ordinary words 0123456789 and stuff\n", 40)
	var forms [][]byte
	for _, v := range vals {
		forms = append(forms, redactionForms([]byte(v))...)
	}
	for i, f := range forms {
		in.WriteString(filler[:i*37%len(filler)])
		in.Write(f)
	}
	in.WriteString(filler)
	data := in.Bytes()
	for _, chunk := range []int{1, 7, 100, 1000, 4096, 65536} {
		var out bytes.Buffer
		r := s.NewRedactor(&out)
		for off := 0; off < len(data); off += chunk {
			if _, err := r.Write(data[off:min(off+chunk, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		want := s.Sanitize(string(data))
		if out.String() != want {
			t.Errorf("chunk %d: streaming output differs from Sanitize (%d vs %d bytes)", chunk, out.Len(), len(want))
		}
		assertNoForm(t, out.String(), vals...)
	}
}

// TestRedactorRealTimer runs the real clock under concurrent writes; with
// -race it checks the idle timer and Write do not race.
func TestRedactorRealTimer(t *testing.T) {
	t.Parallel()
	s := newSetOf(t, Options{}, testSecret)
	var out testkit.SyncBuffer
	r := s.newRedactor(&out, realClock{}, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				_, _ = r.Write([]byte("sk-"))
				if i%10 == g {
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.String()), 4*50*3; got != want {
		t.Fatalf("output %d bytes, want %d (no byte lost or masked)", got, want)
	}
}

var _ io.WriteCloser = (*Redactor)(nil)
