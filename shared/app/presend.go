package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/tokenim/tokenim/shared/aws/lambdahook"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/presend"
)

// PreSendHook configures the app's pre-send hook (template parameters
// PreSendHookArn, PreSendHookUrl, PreSendHookPolicy; docs/events.md).
type PreSendHook struct {
	ARN    string `env:"PRESEND_HOOK_ARN"`
	URL    string `env:"PRESEND_HOOK_URL"`
	Policy string `env:"PRESEND_HOOK_POLICY"`
	// AllowHTTP admits http:// URLs (the local stack's receivers on
	// 127.0.0.1; template parameter LocalHttpTargets).
	AllowHTTP bool `env:"LOCAL_HTTP_TARGETS"`
}

// Guard returns the hook as a chat.SendGuard, nil when none is
// configured, or an error for a configuration that cannot work (both an
// ARN and a URL, a non-https URL, an unknown policy): init fails then,
// rather than sends going unscreened.
func (p PreSendHook) Guard(cfg aws.Config, log *slog.Logger) (chat.SendGuard, error) {
	policy := presend.Policy(p.Policy)
	if policy == "" {
		policy = presend.Allow
	}
	if policy != presend.Allow && policy != presend.Reject {
		return nil, fmt.Errorf("PRESEND_HOOK_POLICY %q: want allow or reject", p.Policy)
	}
	switch {
	case p.ARN != "" && p.URL != "":
		return nil, fmt.Errorf("PRESEND_HOOK_ARN and PRESEND_HOOK_URL are both set: choose one")
	case p.ARN != "":
		return &presend.Hook{Caller: &lambdahook.Caller{API: lambda.NewFromConfig(cfg), Function: p.ARN}, Policy: policy, Log: log}, nil
	case p.URL != "":
		if err := presend.ValidateURL(p.URL, p.AllowHTTP); err != nil {
			return nil, err
		}
		return &presend.Hook{Caller: &presend.HTTPCaller{URL: p.URL, Client: &http.Client{}}, Policy: policy, Log: log}, nil
	}
	return nil, nil
}

// Guard is cfg's pre-send hook as a chat.SendGuard (nil: none). A
// configuration that cannot work fails init (one log line, exit).
func (a *App) Guard(p PreSendHook) chat.SendGuard {
	g, err := p.Guard(a.AWS, a.Log)
	if err != nil {
		logEnvFailure(a.Log, err)
		os.Exit(1)
	}
	return g
}

// Guards chains the guards that are configured (nil ones are left out),
// in order: a message refused by one never reaches the next.
func Guards(gs ...chat.SendGuard) chat.SendGuard {
	var out chat.Guards
	for _, g := range gs {
		if g != nil {
			out = append(out, g)
		}
	}
	return out
}
