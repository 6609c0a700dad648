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

// New returns a JSON logger tagged with the function name. LOG_LEVEL
// (debug, info, warn, error) sets the level; info by default.
func New(function string) *slog.Logger {
	return NewTo(os.Stdout, function)
}

// NewTo is New writing to w (tests).
func NewTo(w io.Writer, function string) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(os.Getenv("LOG_LEVEL")) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})).With("function", function)
}
