// Command tokenim is TokenIM's command-line client for operators: bulk
// imports with a progress bar and a file of the failed rows, and the admin
// API (users, groups, members, tokens, credentials, jobs). See docs/cli.md.
//
//	go install github.com/tokenim/tokenim/cmd/tokenim@latest
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=..."), else
// taken from the module version go install recorded.
var version = "dev"

func init() {
	if bi, ok := debug.ReadBuildInfo(); ok && version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
}

// Exit statuses (docs/cli.md).
const (
	exitOK          = 0
	exitError       = 1 // an API or local error
	exitUsage       = 2 // bad flags or arguments
	exitRowsFailed  = 3 // an import or job finished with failed rows
	exitInterrupted = 130
)

// exitErr carries an exit status out of a command.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status; ctx is
// cancelled by Ctrl-C.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(stderr, ee.err)
		}
		return ee.code
	}
	var ae *APIError
	if errors.As(err, &ae) {
		printError(stderr, err)
		return exitError
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "interrupted")
		return exitInterrupted
	}
	printError(stderr, err)
	if isUsage(err) {
		return exitUsage
	}
	return exitError
}

// printError prints an API error as code, message and request id (what an
// operator quotes in a support ticket), anything else as is.
func printError(w io.Writer, err error) {
	var ae *APIError
	if errors.As(err, &ae) {
		fmt.Fprintf(w, "error: %s\n  message:    %s\n  request id: %s\n", ae.Code, ae.Message, firstNonEmpty(ae.RequestID, "-"))
		return
	}
	fmt.Fprintln(w, "error:", err)
}

// usageError marks a bad command line (exit status 2).
type usageError struct{ error }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// app holds what every command shares.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	flags          globalFlags
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "tokenim",
		Short:         "Operate a TokenIM deployment: bulk imports and the admin API",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.profile, "profile", "", "profile name in the profile file (env TOKENIM_PROFILE)")
	pf.BoolVar(&a.flags.local, "local", false, "use make dev's stack: endpoint and credential from .tokenim/local.json")
	pf.StringVar(&a.flags.endpoint, "endpoint", "", "REST API URL, e.g. https://abc.execute-api.us-east-1.amazonaws.com/prod (env TOKENIM_ENDPOINT)")
	pf.StringVar(&a.flags.keyID, "key-id", "", "app credential key id (env TOKENIM_KEY_ID)")
	pf.StringVar(&a.flags.secret, "secret", "", "app credential secret (env TOKENIM_SECRET; prefer the environment or a profile: flags show in ps)")
	pf.StringVar(&a.flags.token, "token", "", "a ready admin token instead of a credential (env TOKENIM_TOKEN; not refreshed)")
	pf.StringVarP(&a.flags.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(a.profileCommand(), a.importCommand(), a.jobsCommand(), a.usersCommand(), a.groupsCommand(),
		a.membersCommand(), a.tokensCommand(), a.credentialsCommand(), a.chatCommand())
	return root
}

// client builds an API client from the flags, environment and profile.
func (a *app) client() (*Client, error) {
	p, err := a.flags.resolve()
	if err != nil {
		return nil, usageError{err}
	}
	c := NewClient(p)
	c.Warn = a.stderr
	return c, nil
}

// clientAndPrinter is what most commands start with.
func (a *app) clientAndPrinter() (*Client, printer, error) {
	c, err := a.client()
	if err != nil {
		return nil, printer{}, err
	}
	p, err := a.printer()
	return c, p, err
}

func (a *app) printer() (printer, error) {
	p, err := newPrinter(a.stdout, a.flags.output)
	if err != nil {
		return p, usageError{err}
	}
	return p, nil
}

// usageArgs makes a wrong number of arguments a usage error (exit status 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
