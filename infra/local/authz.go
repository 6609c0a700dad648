package local

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/tokenim/tokenim/infra/local/runtime"
	"github.com/tokenim/tokenim/infra/template"
)

// Invoker runs one Lambda invocation (*runtime.Pool).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// authDecision is what API Gateway makes of an authorizer's answer.
type authDecision int

const (
	authAllow        authDecision = iota
	authUnauthorized              // 401: identity source missing, or the authorizer said "Unauthorized"
	authDenied                    // 403: a Deny policy, or no Allow for this method
	authFailed                    // 500: the authorizer failed or answered nonsense
)

// authResult is an allowed caller's identity for requestContext.authorizer.
type authResult struct {
	decision authDecision
	context  map[string]any // the authorizer's context + principalId
	err      error          // why the authorizer failed (authFailed), for the gateway's log
}

// identityPresent checks the authorizer's identity sources: API Gateway
// answers 401 without invoking the authorizer when one is missing or empty.
func identityPresent(a *template.Authorizer, header func(string) string, query func(string) string) bool {
	for _, h := range a.IdentityHeaders {
		if header(h) == "" {
			return false
		}
	}
	for _, q := range a.IdentityQuery {
		if query(q) == "" {
			return false
		}
	}
	return true
}

// authorize invokes a REQUEST authorizer with event and evaluates its
// policy against methodArn.
func authorize(ctx context.Context, fn Invoker, event any, methodArn string) authResult {
	payload, err := json.Marshal(event)
	if err != nil {
		return authResult{decision: authFailed}
	}
	out, err := fn.Invoke(ctx, payload)
	if err != nil {
		// The only error that means 401 is the exact message "Unauthorized".
		var e *runtime.Error
		if asRuntimeError(err, &e) && e.Kind == runtime.Handled && e.Message == "Unauthorized" {
			return authResult{decision: authUnauthorized}
		}
		return authResult{decision: authFailed, err: err}
	}
	var resp struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Statement []struct {
				Effect   string `json:"Effect"`
				Action   any    `json:"Action"`
				Resource any    `json:"Resource"`
			} `json:"Statement"`
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.PrincipalID == "" {
		return authResult{decision: authFailed, err: fmt.Errorf("unreadable answer or no principalId: %.200s", out)}
	}
	allowed := false
	for _, st := range resp.PolicyDocument.Statement {
		if !anyMatch(st.Action, "execute-api:Invoke") || !anyMatch(st.Resource, methodArn) {
			continue
		}
		switch strings.ToLower(st.Effect) {
		case "deny":
			return authResult{decision: authDenied}
		case "allow":
			allowed = true
		}
	}
	if !allowed {
		return authResult{decision: authDenied}
	}
	c := map[string]any{}
	for k, v := range resp.Context {
		// API Gateway passes only strings, numbers and booleans on.
		switch v.(type) {
		case string, float64, bool:
			c[k] = v
		}
	}
	c["principalId"] = resp.PrincipalID
	return authResult{decision: authAllow, context: c}
}

// anyMatch reports whether a policy's Action or Resource (a string or a
// list) matches s; * and ? are IAM wildcards.
func anyMatch(v any, s string) bool {
	var pats []string
	switch x := v.(type) {
	case string:
		pats = []string{x}
	case []any:
		for _, p := range x {
			if ps, ok := p.(string); ok {
				pats = append(pats, ps)
			}
		}
	}
	for _, p := range pats {
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches IAM patterns, where * also spans "/".
func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	// path.Match's * stops at "/": replace "/" on both sides first.
	const sep = "\x00"
	ok, err := path.Match(strings.ReplaceAll(escapeMeta(pattern), "/", sep), strings.ReplaceAll(s, "/", sep))
	return err == nil && ok
}

func escapeMeta(p string) string {
	r := strings.NewReplacer(`[`, `\[`, `]`, `\]`, `\`, `\\`)
	return r.Replace(p)
}

func asRuntimeError(err error, e **runtime.Error) bool {
	v, ok := err.(*runtime.Error)
	*e = v
	return ok
}
