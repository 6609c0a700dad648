// Package presend is the app's pre-send hook (docs/events.md, "Pre-send
// hook"): a Lambda function or an HTTPS endpoint of the app, called
// before a message is stored, that allows it, rejects it (the sender gets
// rejected_by_hook with the hook's reason) or replaces its text and
// payload. It is a chat.SendGuard. The call has a 2-second budget; on a
// timeout or an error the configured policy decides.
package presend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// Budget is how long a send waits for the hook.
const Budget = 2 * time.Second

// MaxReason is how much of a rejection's reason reaches the sender.
const MaxReason = 200

// Policy is what a timeout or an error of the hook means.
type Policy string

// Policies.
const (
	Allow  Policy = "allow"  // store the message as sent
	Reject Policy = "reject" // refuse it with hook_unavailable
)

// Caller calls the hook with a request body and returns its answer body:
// a Lambda invocation (shared/aws/lambdahook) or an HTTPS POST
// (HTTPCaller).
type Caller interface {
	Call(ctx context.Context, body []byte) ([]byte, error)
}

// Request is what the hook receives.
type Request struct {
	Type             string        `json:"type"` // "message.presend"
	ConversationID   string        `json:"conversation_id"`
	ConversationKind string        `json:"conversation_kind"`
	GroupID          string        `json:"group_id,omitempty"`
	SenderType       string        `json:"sender_type"`
	SenderID         string        `json:"sender_id,omitempty"`
	ClientMsgID      string        `json:"client_msg_id,omitempty"`
	Text             string        `json:"text,omitempty"`
	Payload          *chat.Payload `json:"payload,omitempty"`
}

// Response is what the hook answers.
type Response struct {
	Action  string        `json:"action"` // allow, reject or replace
	Reason  string        `json:"reason,omitempty"`
	Text    *string       `json:"text,omitempty"`    // replace: the new text (absent: unchanged)
	Payload *chat.Payload `json:"payload,omitempty"` // replace: the new payload (absent: unchanged)
}

// Hook is the chat.SendGuard.
type Hook struct {
	Caller Caller
	Policy Policy
	Log    *slog.Logger
	// Budget overrides the 2-second budget (tests).
	Budget time.Duration
}

var _ chat.SendGuard = (*Hook)(nil)

// CheckSend calls the hook.
func (h *Hook) CheckSend(ctx context.Context, c chat.SendCheck) (chat.SendContent, error) {
	budget := h.Budget
	if budget <= 0 {
		budget = Budget
	}
	req := Request{Type: "message.presend", ConversationID: string(c.Conversation.ID), ConversationKind: c.Conversation.Kind,
		GroupID: c.Conversation.GroupID, SenderType: chat.SenderUser, SenderID: c.SenderID, ClientMsgID: c.ClientMsgID,
		Text: c.Content.Text, Payload: c.Content.Payload}
	if c.System {
		req.SenderType = chat.SenderSystem
	}
	body, err := json.Marshal(req)
	if err != nil {
		return chat.SendContent{}, fmt.Errorf("presend: request: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	start := time.Now()
	out, err := h.Caller.Call(cctx, body)
	var resp Response
	if err == nil {
		err = decode(out, &resp)
	}
	if err != nil {
		return h.failed(ctx, c, err, time.Since(start))
	}
	switch resp.Action {
	case "allow":
		return c.Content, nil
	case "reject":
		return chat.SendContent{}, apierror.New(apierror.RejectedByHook, "%s", reason(resp.Reason))
	default: // "replace", checked by decode
		content := c.Content
		if resp.Text != nil {
			content.Text = *resp.Text
		}
		if resp.Payload != nil {
			content.Payload = resp.Payload
		}
		return content, nil
	}
}

// failed applies the policy to a hook that timed out, failed or answered
// something unreadable.
func (h *Hook) failed(ctx context.Context, c chat.SendCheck, err error, took time.Duration) (chat.SendContent, error) {
	if ctx.Err() != nil {
		return chat.SendContent{}, ctx.Err() // the send itself was cancelled
	}
	timeout := errors.Is(err, context.DeadlineExceeded)
	h.log().WarnContext(ctx, "pre-send hook failed; policy applies", "policy", string(h.Policy), "timeout", timeout,
		"took_ms", took.Milliseconds(), "conversation_id", string(c.Conversation.ID), "err", err.Error())
	if h.Policy == Allow {
		return c.Content, nil
	}
	return chat.SendContent{}, apierror.New(apierror.HookUnavailable, "The pre-send hook did not answer; the message was not stored.")
}

func (h *Hook) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func decode(b []byte, r *Response) error {
	if err := json.Unmarshal(b, r); err != nil {
		return fmt.Errorf("presend: answer is not JSON: %w", err)
	}
	switch r.Action {
	case "allow", "reject":
		return nil
	case "replace":
		if r.Text == nil && r.Payload == nil {
			return errors.New("presend: replace with neither text nor payload")
		}
		return nil
	}
	return fmt.Errorf("presend: unknown action %q", r.Action)
}

// reason is the hook's reason as the sender sees it: one line, at most
// MaxReason characters, never empty.
func reason(r string) string {
	r = strings.Join(strings.Fields(r), " ")
	if r == "" {
		return "The message was rejected."
	}
	if utf8.RuneCountInString(r) > MaxReason {
		r = string([]rune(r)[:MaxReason])
	}
	return r
}
