// Package local runs the whole TokenIM stack on one machine: the
// template's functions as real bootstrap processes (infra/local/runtime),
// API Gateway's REST and WebSocket APIs with their authorizers, gateway
// responses and management API, and Lambda's SQS event source mappings,
// all read from template.yaml. docs/local.md describes it.
package local

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tokenim/tokenim/infra/provision"
	"github.com/tokenim/tokenim/infra/template"
)

// Resolver turns template values (!Ref, !GetAtt, !Sub, !Join) into local
// strings: provisioned names, URLs and ARNs, and the local gateways'
// URLs in place of execute-api endpoints.
type Resolver struct {
	Tmpl      *template.Template
	Res       provision.Resources
	Region    string
	AccountID string
	StackName string
	// Params overrides parameter defaults.
	Params map[string]string
	// APIs maps an API's logical id to its local base URL
	// (http://127.0.0.1:3001 for the WebSocket API).
	APIs map[string]string
	// Refs gives !Ref of resources the local stack stands in for (the
	// user pool and its client); Rewrites replaces AWS URLs in resolved
	// values with local ones (the pool's issuer).
	Refs, Rewrites map[string]string
}

// APIID is the id !Ref gives an API locally; URLs built from it are
// rewritten to the local gateway.
func APIID(logicalID string) string { return "local" + strings.ToLower(logicalID) }

// Value resolves v to a string.
func (r *Resolver) Value(v any) (string, error) {
	s, err := r.value(v)
	if err != nil {
		return "", err
	}
	return r.rewriteURLs(s), nil
}

// Param returns a parameter's value (override, else default).
func (r *Resolver) Param(name string) (string, bool) {
	if v, ok := r.Params[name]; ok {
		return v, true
	}
	p, ok := r.Tmpl.Parameters[name]
	if !ok {
		return "", false
	}
	d, ok := p["Default"]
	if !ok {
		return "", false
	}
	return fmt.Sprint(d), true
}

func (r *Resolver) value(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case int, int64, float64, bool:
		return fmt.Sprint(x), nil
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			return r.ref(ref)
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return r.getAtt(fmt.Sprint(ga[0]), fmt.Sprint(ga[1]))
		}
		if sub, ok := x["Fn::Sub"]; ok {
			return r.sub(sub)
		}
		if f, ok := x["Fn::If"].([]any); ok && len(f) == 3 {
			yes, err := r.Condition(fmt.Sprint(f[0]))
			if err != nil {
				return "", err
			}
			if yes {
				return r.value(f[1])
			}
			return r.value(f[2])
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var out []string
			for _, p := range parts {
				s, err := r.value(p)
				if err != nil {
					return "", err
				}
				out = append(out, s)
			}
			return strings.Join(out, fmt.Sprint(j[0])), nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", fmt.Errorf("local: cannot resolve %v locally", keys)
	}
	return "", fmt.Errorf("local: cannot resolve %T", v)
}

// Condition evaluates one of the template's Conditions with the local
// parameter values (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition).
func (r *Resolver) Condition(name string) (bool, error) {
	c, ok := r.Tmpl.Conditions[name]
	if !ok {
		return false, fmt.Errorf("local: no condition %q", name)
	}
	return r.cond(c)
}

func (r *Resolver) cond(v any) (bool, error) {
	m, _ := v.(map[string]any)
	if name, ok := m["Condition"].(string); ok {
		return r.Condition(name)
	}
	if eq, ok := m["Fn::Equals"].([]any); ok && len(eq) == 2 {
		a, err := r.value(eq[0])
		if err != nil {
			return false, err
		}
		b, err := r.value(eq[1])
		return a == b, err
	}
	if not, ok := m["Fn::Not"].([]any); ok && len(not) == 1 {
		c, err := r.cond(not[0])
		return !c, err
	}
	and, isAnd := m["Fn::And"].([]any)
	or, isOr := m["Fn::Or"].([]any)
	if isAnd || isOr {
		all := append(and, or...)
		for _, c := range all {
			v, err := r.cond(c)
			if err != nil {
				return false, err
			}
			if isOr && v {
				return true, nil
			}
			if isAnd && !v {
				return false, nil
			}
		}
		return isAnd, nil
	}
	return false, fmt.Errorf("local: cannot evaluate condition %v", v)
}

func (r *Resolver) ref(name string) (string, error) {
	switch name {
	case "AWS::Region":
		return r.Region, nil
	case "AWS::AccountId":
		return r.AccountID, nil
	case "AWS::StackName":
		return r.StackName, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return "", nil
	}
	if v, ok := r.Param(name); ok {
		return v, nil
	}
	if v, ok := r.Refs[name]; ok {
		return v, nil
	}
	if v, ok := r.Res.Ref(name); ok {
		return v, nil
	}
	if res, ok := r.Tmpl.Resources[name]; ok {
		switch res.Type {
		case "AWS::ApiGatewayV2::Api", "AWS::Serverless::Api":
			return APIID(name), nil
		case "AWS::Serverless::Function":
			return r.StackName + "-" + name, nil
		}
		return name, nil
	}
	return "", fmt.Errorf("local: !Ref %s: no such parameter or resource", name)
}

func (r *Resolver) getAtt(name, attr string) (string, error) {
	res, ok := r.Tmpl.Resources[name]
	if !ok {
		return "", fmt.Errorf("local: !GetAtt %s.%s: no such resource", name, attr)
	}
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.Region, r.AccountID, rest)
	}
	switch {
	case res.Type == "AWS::DynamoDB::Table" && attr == "Arn":
		return arn("dynamodb", "table/"+r.Res.Tables[name]), nil
	case res.Type == "AWS::DynamoDB::Table" && attr == "StreamArn" && r.Res.StreamARNs[name] != "":
		return r.Res.StreamARNs[name], nil
	case res.Type == "AWS::SQS::Queue" && attr == "Arn":
		return r.Res.QueueARNs[name], nil
	case res.Type == "AWS::SQS::Queue" && attr == "QueueUrl":
		return r.Res.QueueURLs[name], nil
	case res.Type == "AWS::SQS::Queue" && attr == "QueueName":
		u := r.Res.QueueURLs[name]
		return u[strings.LastIndex(u, "/")+1:], nil
	case res.Type == "AWS::Serverless::Function" && attr == "Arn":
		return arn("lambda", "function:"+r.StackName+"-"+name), nil
	case res.Type == "AWS::Logs::LogGroup" && attr == "Arn":
		return arn("logs", "log-group:"+name+":*"), nil
	}
	return "", fmt.Errorf("local: !GetAtt %s.%s is not supported locally", name, attr)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *Resolver) sub(v any) (string, error) {
	str, vars := "", map[string]any{}
	switch x := v.(type) {
	case string:
		str = x
	case []any:
		if len(x) != 2 {
			return "", fmt.Errorf("local: malformed !Sub")
		}
		str = fmt.Sprint(x[0])
		vars, _ = x[1].(map[string]any)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var s string
		var err error
		if val, ok := vars[name]; ok {
			s, err = r.value(val)
		} else if obj, att, ok := strings.Cut(name, "."); ok {
			s, err = r.getAtt(obj, att)
		} else {
			s, err = r.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return s
	})
	return out, firstErr
}

var executeAPI = regexp.MustCompile(`(https|wss)://([a-z0-9-]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com`)

// rewriteURLs points execute-api URLs of local APIs at the local gateways:
// https://<id>.execute-api... -> http://127.0.0.1:port, wss:// -> ws://.
func (r *Resolver) rewriteURLs(s string) string {
	for from, to := range r.Rewrites {
		s = strings.ReplaceAll(s, from, to)
	}
	return executeAPI.ReplaceAllStringFunc(s, func(m string) string {
		sm := executeAPI.FindStringSubmatch(m)
		for logical, base := range r.APIs {
			if APIID(logical) == sm[2] {
				if sm[1] == "wss" {
					return "ws" + strings.TrimPrefix(base, "http")
				}
				return base
			}
		}
		return m
	})
}

// FunctionEnv resolves a function's environment (Globals + its own).
func (r *Resolver) FunctionEnv(f template.Function) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range f.Environment {
		s, err := r.Value(v)
		if err != nil {
			return nil, fmt.Errorf("local: %s env %s: %w", f.LogicalID, k, err)
		}
		out[k] = s
	}
	return out, nil
}

func errorf(format string, args ...any) error { return fmt.Errorf("local: "+format, args...) }
