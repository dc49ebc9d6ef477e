package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes of the CLI contract.
const (
	exitOK     = 0
	exitFail   = 1 // unexpected internal failure
	exitConfig = 2 // usage or configuration error
	exitLease  = 3 // a lease could not be obtained (OIDC, STS, Secrets Manager, policy refusal)
	exitLeak   = 4 // a leak was detected (scan or record verification)
)

// env is what a subcommand may touch of the process: its streams and
// environment. Tests build one by hand so they can run in parallel.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string
}

func newEnv() *env {
	return &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ}
}

// command is one subcommand. run returns nil for exit 0, an *exitError for a
// chosen code, or any other error (mapped by exitCodeOf).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, e *env) error
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("keylease: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// exitError carries an explicit exit code. A nil err means "exit quietly with
// code" (the message, if any, was already printed).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError reports bad flags or arguments (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: exitConfig, err: fmt.Errorf(format, args...)}
}

// exitClassifiers map package error types to exit codes; subcommand files add
// theirs in init so this file need not import every package.
var exitClassifiers []func(error) (int, bool)

// exitCodeOf maps err to an exit code: an *exitError's own code first (the
// outermost one: subcommands wrap an error whose code they know, such as
// exec's *lease.Error, in one), then the classifiers in order.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	for _, classify := range exitClassifiers {
		if code, ok := classify(err); ok {
			return code
		}
	}
	return exitFail
}

func realMain(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printHelp(e.stderr)
		return exitConfig
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		printHelp(e.stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		reportError(e, fmt.Errorf("unknown command %s; run 'keylease help' for the list", shownValue("command", name)))
		return exitConfig
	}
	err := c.run(ctx, rest, e)
	code := exitCodeOf(err)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || ee.err != nil {
			reportError(e, err)
		}
	}
	return code
}

// reportError prints one line on stderr in the contract's shape
// ("keylease: <what>: <why>; <what to do>"). Every message passes the process
// sanitizer first, so a value that slipped into an error is still removed,
// then safeLine, so no text in it can start a workflow command line.
func reportError(e *env, err error) {
	msg := safeLine(sanitize(err.Error()))
	fmt.Fprintf(e.stderr, "keylease: %s\n", msg)
	if e.getenv("GITHUB_ACTIONS") == "true" {
		fmt.Fprintf(e.stdout, "::error title=keylease::%s\n", annotationData(msg))
	}
}

// sanitize is replaced by the process's value-shape guard (see sanitize.go);
// until then it is the identity.
var sanitize = func(s string) string { return s }

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "keylease leases LLM vendor keys to exactly one command, for a short time, without")
	fmt.Fprintln(w, "the key touching disk, a log or an artifact.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: keylease <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		if strings.HasPrefix(n, "__") { // internal helper modes, not for users
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "  help     show this help")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit codes: 0 ok, 2 usage/configuration, 3 lease refused or failed, 4 leak detected;")
	fmt.Fprintln(w, "exec returns the command's own code, 124 when the lease deadline ended it, 128+N for signal N.")
}
