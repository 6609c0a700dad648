// Package logging builds the JSON slog logger every function uses. Log
// lines carry ids, routes, statuses and latencies; never tokens, secrets or
// message bodies (callers log only those fields, and Redact guards headers).
package logging

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// New returns a JSON logger tagged with the function name, at level
// (debug, info, warn, error; anything else is info). shared/app passes
// the function's LOG_LEVEL.
func New(function, level string) *slog.Logger {
	return newTo(os.Stdout, function, level)
}

// NewTo is New at info level writing to w (tests).
func NewTo(w io.Writer, function string) *slog.Logger { return newTo(w, function, "info") }

func newTo(w io.Writer, function, level string) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})).With("function", function)
}
