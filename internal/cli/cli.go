// Package cli is the one convention every binary of Leifeng Station
// follows: main is a single line, cli.Main(name, run), and run is
//
//	func run(ctx context.Context, args []string, stdout, stderr io.Writer) error
//
// so that tests call run in-process with their own context, arguments and
// buffers. Main cancels ctx on SIGINT or SIGTERM, prints a returned error
// as one line "name: error" on stderr, and exits with the status the error
// carries:
//
//	0  success, -h, or stopped by SIGINT/SIGTERM
//	1  a failure while running (a file, a port, the network, the database)
//	2  a usage error: a bad flag, argument or subcommand (UsageError)
//	n  an *ExitError's own status (leifeng-kiosk: 75 after a reboot command)
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Func is a binary's run function.
type Func func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs run with the process's arguments and standard streams and
// exits with Status.
func Main(name string, run Func) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(Report(name, err, os.Stderr))
}

// Report prints err (if any) as one line on stderr and returns the exit
// status for it.
func Report(name string, err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, strings.ReplaceAll(err.Error(), "\n", " "))
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	var usage *UsageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// UsageError is a bad command line: exit status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ExitError ends a binary with its own exit status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Parse parses args into fs. A bad flag is a UsageError of one line that
// points to -h (the flag package would print every flag's help after
// it); -h prints the flags on stdout and returns flag.ErrHelp, which
// Report treats as success.
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.Init(fs.Name(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return Usagef("%v (run %s -h for the flags)", err, fs.Name())
	}
	return nil
}
