package main

import (
	"context"
	"fmt"
	"runtime"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register(&command{name: "version", summary: "print the version", run: runVersion})
}

func runVersion(_ context.Context, args []string, e *env) error {
	if len(args) > 0 {
		return usageError("version takes no arguments")
	}
	fmt.Fprintf(e.stdout, "keylease %s %s/%s %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
	return nil
}
