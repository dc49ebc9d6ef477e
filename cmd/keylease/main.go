// Command keylease leases LLM vendor credentials to exactly one command.
//
// main stays thin: it sets up signal handling, calls realMain and turns the
// result into an exit code. Every subcommand lives in a file of its own.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/keylease/keylease/masking"
)

func main() {
	// A panic's value or stack could carry a leased value; print it only
	// through the process sanitizer.
	defer masking.HandlePanic(masking.Process(), os.Stderr)
	// A closed stdout (`keylease exec … | head`) must not kill keylease
	// before it has checked the runner's files and written the record: with
	// SIGPIPE caught, such a write fails with EPIPE instead. Caught, not
	// ignored: an ignored signal would be inherited by the command.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], newEnv())
	stop()
	os.Exit(code)
}
