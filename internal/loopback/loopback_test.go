package loopback_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/loopback"
)

func TestStartServesOnLoopback(t *testing.T) {
	t.Parallel()
	s, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pong") }))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q", s.URL)
	}
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "pong" {
		t.Errorf("body = %q", b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL); err == nil {
		t.Error("server still answers after Close")
	}
}

// TestNilServer: emulators made with New (mounted on another server) hold a
// nil *Server; their URL and Close must still work.
func TestNilServer(t *testing.T) {
	t.Parallel()
	var s *loopback.Server
	if got := s.BaseURL(); got != "" {
		t.Errorf("nil BaseURL = %q", got)
	}
	if err := s.Close(); err != nil {
		t.Errorf("nil Close = %v", err)
	}
	live, err := loopback.Start(http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	if live.BaseURL() != live.URL || live.URL == "" {
		t.Errorf("BaseURL %q, URL %q", live.BaseURL(), live.URL)
	}
	if err := live.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	loopback.WriteJSON(rec, "application/json; charset=utf-8", http.StatusTeapot, map[string]any{"message": "short and stout"})
	if rec.Code != http.StatusTeapot {
		t.Errorf("status %d, want %d", rec.Code, http.StatusTeapot)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := rec.Body.String(); got != `{"message":"short and stout"}`+"\n" {
		t.Errorf("body %q", got)
	}
}
