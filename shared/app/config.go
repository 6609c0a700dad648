package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/config"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/idtoken"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/signup"
)

// A function's configuration is one struct (functions/<name>/config.go)
// built from the parts below, each field tagged with the environment
// variable template.yaml sets for it. app reads it once, at init, with
// github.com/caarlos0/env: a variable that is unset keeps the value the
// struct already holds (the domain's default), a malformed or missing
// required one fails init with one log line naming the variable. Domain
// packages receive the typed values (chat.Config, batch.Config, ...) and
// read no environment.

// Base is what every function reads: the tables and the log level.
type Base struct {
	Tables   Tables
	LogLevel string `env:"LOG_LEVEL"`
}

func (b *Base) appBase() *Base { return b }

// Tables are the five table names.
type Tables struct {
	Users       string `env:"USERS_TABLE,required,notEmpty"`
	Groups      string `env:"GROUPS_TABLE,required,notEmpty"`
	Messages    string `env:"MESSAGES_TABLE,required,notEmpty"`
	Jobs        string `env:"JOBS_TABLE,required,notEmpty"`
	Connections string `env:"CONNECTIONS_TABLE,required,notEmpty"`
}

func (t Tables) store() dynamo.Tables {
	return dynamo.Tables{Users: t.Users, Groups: t.Groups, Messages: t.Messages, Jobs: t.Jobs, Connections: t.Connections}
}

// Keys is read by the functions that issue or verify tokens or page with
// cursors: where the signing key is (never the key itself) and the issuer.
type Keys struct {
	SigningKeySecretARN string `env:"SIGNING_KEY_SECRET_ARN,required,notEmpty"`
	TokenIssuer         string `env:"TOKEN_ISSUER"`
}

func (k *Keys) appKeys() *Keys { return k }

// REST is read by the functions that serve REST routes.
type REST struct {
	// CORSAllowOrigin is the origin browser apps may call from (template
	// parameter CorsAllowOrigin; empty: httpapi.DefaultAllowOrigin).
	CORSAllowOrigin string `env:"CORS_ALLOW_ORIGIN"`
}

// CORS is the httpapi.CORS of the functions' answers.
func (r REST) CORS() httpapi.CORS { return httpapi.CORS{AllowOrigin: r.CORSAllowOrigin} }

// Chat configures chat.Service.
type Chat struct {
	MaxGroupMembers     int `env:"MAX_GROUP_MEMBERS"`
	RecallWindowSeconds int `env:"RECALL_WINDOW_SECONDS"`
}

// Config is the chat.Config (zero values take chat's defaults).
func (c Chat) Config() chat.Config {
	return chat.Config{MaxGroupMembers: c.MaxGroupMembers, RecallWindow: time.Duration(c.RecallWindowSeconds) * time.Second}
}

// Realtime says where pushes go: the @connections endpoint and the
// fan-out queue of large groups (none: they are pushed inline).
type Realtime struct {
	ManagementEndpoint string `env:"WS_MANAGEMENT_ENDPOINT,required,notEmpty"`
	FanoutQueueURL     string `env:"FANOUT_QUEUE_URL"`
	FanoutInlineMax    int    `env:"FANOUT_INLINE_MAX"`
	// PushQueueURL is where new messages' offline recipients are queued
	// for push (docs/push.md); empty: no offline push.
	PushQueueURL string `env:"PUSH_QUEUE_URL"`
}

// Config is the realtime.Config (zero values take realtime's defaults).
func (r Realtime) Config() realtime.Config { return realtime.Config{InlineMax: r.FanoutInlineMax} }

// BatchLimits are the batch submit limits.
type BatchLimits struct {
	MaxActiveJobs int `env:"BATCH_MAX_ACTIVE_JOBS"`
	MaxRowsPerDay int `env:"BATCH_MAX_ROWS_PER_DAY"`
}

// DefaultBatchLimits are batch's defaults, kept when a variable is unset.
func DefaultBatchLimits() BatchLimits {
	return BatchLimits{MaxActiveJobs: batch.DefaultMaxActiveJobs, MaxRowsPerDay: batch.DefaultMaxRowsPerDay}
}

// Config is the batch.Config (jobs of up to batch.InlineMaxRows rows run inline).
func (b BatchLimits) Config() batch.Config {
	return batch.Config{MaxActiveJobs: b.MaxActiveJobs, MaxRowsPerDay: b.MaxRowsPerDay, InlineMaxRows: batch.InlineMaxRows}
}

// SignupMapping is how identity-provider attributes become a chat account.
type SignupMapping struct {
	IDAttribute        string   `env:"SIGNUP_ID_ATTRIBUTE"`
	MetadataAttributes []string `env:"SIGNUP_METADATA_ATTRIBUTES"` // comma-separated
}

// Mapping is the signup.Mapping, blanks trimmed and empty entries dropped.
func (m SignupMapping) Mapping() signup.Mapping {
	return signup.Mapping{IDAttribute: strings.TrimSpace(m.IDAttribute), MetadataAttributes: nonEmpty(m.MetadataAttributes)}
}

// Cognito says which Cognito ID tokens the token endpoint accepts (an
// empty issuer turns the exchange off).
type Cognito struct {
	Issuer    string   `env:"COGNITO_ISSUER"`
	ClientIDs []string `env:"COGNITO_CLIENT_IDS"` // comma-separated
}

// Config is the idtoken.Config logging to log; the JWKS is at the
// issuer's default URL.
func (c Cognito) Config(log *slog.Logger) idtoken.Config {
	return idtoken.Config{Issuer: strings.TrimSpace(c.Issuer), ClientIDs: nonEmpty(c.ClientIDs), Log: log}
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Env is a function's configuration: a struct embedding Base.
type Env interface{ appBase() *Base }

// KeyedEnv is the configuration of a function that also embeds Keys.
type KeyedEnv interface {
	Env
	appKeys() *Keys
}

// VarError is a variable that is missing, empty or malformed. It carries
// the name and what is wrong, never the value.
type VarError struct {
	Var    string
	Reason string // "not set", "empty" or "malformed <type>"
}

func (e *VarError) Error() string { return e.Var + ": " + e.Reason }

// readEnv fills cfg (a pointer to a struct) from environ, keeping a
// field's value when its variable is unset. It returns the first problem
// as a *VarError.
func readEnv(cfg any, environ map[string]string) error {
	err := env.ParseWithOptions(cfg, env.Options{Environment: environ})
	if err == nil {
		return nil
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) == 0 {
		return fmt.Errorf("config: %w", err)
	}
	first := agg.Errors[0]
	var unset env.VarIsNotSetError
	var empty env.EmptyVarError
	var parse env.ParseError
	switch {
	case errors.As(first, &unset):
		return &VarError{Var: unset.Key, Reason: "not set"}
	case errors.As(first, &empty):
		return &VarError{Var: empty.Key, Reason: "empty"}
	case errors.As(first, &parse):
		// ParseError names the field; its Err quotes the value, so it is
		// not passed on.
		return &VarError{Var: varOfField(reflect.TypeOf(cfg), parse.Name), Reason: "malformed " + parse.Type.String()}
	}
	return fmt.Errorf("config: %w", first)
}

// Var is one variable a configuration reads.
type Var struct {
	Name     string
	Required bool
}

// Vars lists the variables cfg (a struct or a pointer to one) reads, in
// field order: the names the template must set for the function.
func Vars(cfg any) []Var {
	var out []Var
	walk(reflect.TypeOf(cfg), func(f reflect.StructField, name string, opts []string) {
		out = append(out, Var{Name: name, Required: slices.Contains(opts, "required")})
	})
	return out
}

func varOfField(t reflect.Type, field string) string {
	name := field
	walk(t, func(f reflect.StructField, v string, _ []string) {
		if f.Name == field {
			name = v
		}
	})
	return name
}

// walk calls fn for every field with an env tag, descending into struct
// fields without one as caarlos0/env does (no prefixes are used here).
func walk(t reflect.Type, fn func(f reflect.StructField, name string, opts []string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, fn)
			}
			continue
		}
		parts := strings.Split(tag, ",")
		fn(f, parts[0], parts[1:])
	}
}

// issuer is the JWT issuer: TOKEN_ISSUER, else config.DefaultIssuer.
func (k *Keys) issuer() string {
	if k.TokenIssuer != "" {
		return k.TokenIssuer
	}
	return config.DefaultIssuer
}

// loadEnv reads env from the process environment and returns the logger
// at its LOG_LEVEL. On a bad variable it logs one line naming it (at
// error level, which every LOG_LEVEL shows) and exits.
func loadEnv(function string, e Env) *slog.Logger {
	if err := readEnv(e, nil); err != nil {
		logEnvFailure(logging.New(function, "info"), err)
		os.Exit(1)
	}
	return logging.New(function, e.appBase().LogLevel)
}

// logEnvFailure writes the one line a bad configuration leaves: the step,
// the variable (when known) and what is wrong with it, never its value.
func logEnvFailure(log *slog.Logger, err error) {
	attrs := []any{"step", "read configuration"}
	if ve, ok := errors.AsType[*VarError](err); ok {
		attrs = append(attrs, "var", ve.Var)
	}
	log.Error("init failed", append(attrs, "err", err.Error())...)
}

// ChatService is the configuration of a function that serves chat over
// an API (groups, messages, websocket): tables, keys, chat limits, push.
type ChatService struct {
	Base
	Keys
	Chat     Chat
	Realtime Realtime
}
