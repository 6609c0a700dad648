package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// cliEnv makes the test binary act as the tokenim command, so the pty test
// runs the CLI as a process without a separate go build.
const cliEnv = "TOKENIM_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
