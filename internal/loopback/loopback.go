// Package loopback serves an http.Handler on 127.0.0.1 for the emulators. It
// is a small stand-in for httptest.Server that does not depend on the testing
// flags, so `keylease demo` can use it too.
package loopback

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a running loopback HTTP server.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	srv  *http.Server
	done chan struct{}
}

// Start serves h on a free port of 127.0.0.1.
func Start(h http.Handler) (*Server, error) {
	ln, err := Listen()
	if err != nil {
		return nil, err
	}
	return Serve(ln, h, nil), nil
}

// Listen opens a free port of 127.0.0.1, for callers that need the address
// (an issuer URL, a certificate) before serving.
func Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	return ln, nil
}

// Serve serves h on ln, over TLS when tlsConfig is not nil.
func Serve(ln net.Listener, h http.Handler, tlsConfig *tls.Config) *Server {
	scheme := "http://"
	if tlsConfig != nil {
		scheme = "https://"
		ln = tls.NewListener(ln, tlsConfig)
	}
	s := &Server{
		URL:  scheme + ln.Addr().String(),
		Addr: ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // nothing to report to: the listener was closed under us
		}
	}()
	return s
}

// BaseURL is the server's URL, "" for a nil Server: an emulator that was
// made with New and mounted elsewhere has none of its own.
func (s *Server) BaseURL() string {
	if s == nil {
		return ""
	}
	return s.URL
}

// Close stops the server, waiting briefly for calls in flight. Closing a nil
// Server does nothing.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// WriteJSON answers with status and v encoded as JSON, under contentType
// (each emulated service sends its own: "application/json", with or
// without "; charset=utf-8").
func WriteJSON(w http.ResponseWriter, contentType string, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
