package vendorapi_test

import (
	"net/http"

	"github.com/keylease/keylease/internal/loopback"
)

func startHandler(h http.Handler) (*loopback.Server, error) { return loopback.Start(h) }
