package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/strictjson"
	"github.com/tokenim/tokenim/shared/users"
)

// header is the part every client frame shares; each action's frame
// embeds it, so strict decoding accepts these two keys and refuses any
// key the action does not define (unknown_field).
type header struct {
	Action    string `json:"action"`
	RequestID any    `json:"request_id,omitempty"`
}

// ping answers {"type":"pong","request_id":...}: a liveness check that
// exercises the whole path (gateway, function, management API).
func (h *Handler) ping(_ context.Context, c *Call) (any, error) {
	var in header
	return nil, strictjson.Decode(c.Body, &in)
}

// sendFrame is {"action":"send", ...}: the REST send's body.
type sendFrame struct {
	header
	ToUser         string        `json:"to_user,omitempty"`
	ToGroup        string        `json:"to_group,omitempty"`
	ConversationID string        `json:"conversation_id,omitempty"`
	ClientMsgID    string        `json:"client_msg_id,omitempty"`
	Text           string        `json:"text,omitempty"`
	Payload        *chat.Payload `json:"payload,omitempty"`
	ReplyTo        int64         `json:"reply_to,omitempty"`
	ThreadRoot     int64         `json:"thread_root,omitempty"`
	Mentions       []string      `json:"mentions,omitempty"`
	// Attachments: uploads of the sender's (POST /v1/uploads).
	Attachments []chat.Attachment `json:"attachments,omitempty"`
}

// SendResult is the ack of send.
type SendResult struct {
	Message chat.Message `json:"message"`
	// Created is false when client_msg_id named a message already stored
	// (a retry): Message is that message and nothing was pushed again.
	Created bool `json:"created"`
}

func (h *Handler) send(ctx context.Context, c *Call) (any, error) {
	var in sendFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	m, created, err := h.chat.Send(ctx, c.Principal, chat.SendInput{ToUser: in.ToUser, ToGroup: in.ToGroup, ConversationID: in.ConversationID,
		ClientMsgID: in.ClientMsgID, Text: in.Text, Payload: in.Payload, ReplyTo: in.ReplyTo, ThreadRoot: in.ThreadRoot, Mentions: in.Mentions,
		Attachments: in.Attachments})
	if err != nil {
		return nil, err
	}
	return SendResult{Message: m, Created: created}, nil
}

type readFrame struct {
	header
	ConversationID string `json:"conversation_id"`
	Seq            *int64 `json:"seq"`
}

func (h *Handler) read(ctx context.Context, c *Call) (any, error) {
	var in readFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	if in.Seq == nil {
		return nil, fieldErr("seq", "seq is required: the highest seq the user has read.")
	}
	return h.chat.MarkRead(ctx, c.Principal, in.ConversationID, *in.Seq, "")
}

type typingFrame struct {
	header
	ConversationID string `json:"conversation_id"`
	State          string `json:"state,omitempty"`
}

// TypingResult is the ack of typing.
type TypingResult struct {
	// Delivered is false for groups above the inline fan-out size: typing
	// indicators are not worth a queued fan-out.
	Delivered bool `json:"delivered"`
}

// typing pushes {"type":"typing",...} to the other participants. Nothing
// is stored. Cost: one BatchGetItem (access check), the audience look-up
// and the pushes.
func (h *Handler) typing(ctx context.Context, c *Call) (any, error) {
	var in typingFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	switch in.State {
	case "":
		in.State = "start"
	case "start", "stop":
	default:
		return nil, fieldErr("state", "state must be \"start\" or \"stop\".")
	}
	conv, err := h.chat.GetConversation(ctx, c.Principal, in.ConversationID, "")
	if err != nil {
		return nil, err
	}
	aud := realtime.Audience{ExcludeUsers: []string{c.UserID}, Ephemeral: true}
	if conv.Kind == chat.KindDM {
		aud.Users = []string{conv.PeerID}
	} else {
		aud.Group = conv.GroupID
	}
	b, err := json.Marshal(realtime.EventFrame{Type: realtime.EventTyping, ConversationID: string(conv.ConversationID), GroupID: conv.GroupID,
		Actor: c.UserID, State: in.State, At: h.now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("websocket: typing frame: %w", err)
	}
	err = h.rt.Deliver(ctx, aud, b)
	if errors.Is(err, realtime.ErrAudienceTooLarge) {
		return TypingResult{Delivered: false}, nil
	}
	if err != nil {
		return nil, err
	}
	return TypingResult{Delivered: true}, nil
}

type syncFrame struct {
	header
	Since  map[string]int64 `json:"since,omitempty"`
	Limit  int              `json:"limit,omitempty"`
	Cursor string           `json:"cursor,omitempty"`
}

// sync returns the messages the client missed (chat.Service.Sync). A
// reply must fit one PostToConnection (128 KB): a page that would not is
// fetched again with half the limit, down to one message (at most 32 KB).
func (h *Handler) sync(ctx context.Context, c *Call) (any, error) {
	var in syncFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	for {
		page, err := h.chat.Sync(ctx, c.Principal, chat.SyncInput{Since: in.Since, Limit: limit, Cursor: in.Cursor})
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(page)
		if err != nil {
			return nil, fmt.Errorf("websocket: sync page: %w", err)
		}
		if len(b) <= maxReplyBytes-1024 || limit == 1 {
			return json.RawMessage(b), nil
		}
		limit /= 2
	}
}

// MaxPresenceUsers bounds one presence request (one BatchGetItem).
const MaxPresenceUsers = 100

type presenceFrame struct {
	header
	UserIDs []string `json:"user_ids"`
}

// UserPresence is one user's entry in the presence ack.
type UserPresence struct {
	UserID      string `json:"user_id"`
	Online      bool   `json:"online"`
	Connections int    `json:"connections"`
	LastSeenAt  *int64 `json:"last_seen_at,omitempty"` // epoch ms of the last disconnect
}

func (h *Handler) presence(ctx context.Context, c *Call) (any, error) {
	var in presenceFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	if len(in.UserIDs) == 0 || len(in.UserIDs) > MaxPresenceUsers {
		return nil, fieldErr("user_ids", fmt.Sprintf("user_ids must hold 1 to %d ids.", MaxPresenceUsers))
	}
	for _, id := range in.UserIDs {
		if err := users.ValidateID("user_ids", id); err != nil {
			return nil, err
		}
	}
	pres, err := h.rt.Presence(ctx, in.UserIDs)
	if err != nil {
		return nil, err
	}
	out := make([]UserPresence, 0, len(in.UserIDs))
	seen := map[string]bool{}
	for _, id := range in.UserIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		p := pres[id]
		up := UserPresence{UserID: id, Online: p.Online(), Connections: len(p.Conns)}
		if !p.LastSeen.IsZero() {
			ms := p.LastSeen.UnixMilli()
			up.LastSeenAt = &ms
		}
		out = append(out, up)
	}
	return map[string]any{"users": out}, nil
}

func fieldErr(field, msg string) error {
	return apierror.New(apierror.ValidationFailed, "%s", msg).WithDetails(map[string]string{"field": field})
}

type reactFrame struct {
	header
	ConversationID string `json:"conversation_id"`
	Seq            *int64 `json:"seq"`
	Emoji          string `json:"emoji"`
	Remove         bool   `json:"remove,omitempty"`
}

// react adds or removes the caller's reaction (chat.Service.React); the
// ack is the message with its counts and the caller's own reactions.
func (h *Handler) react(ctx context.Context, c *Call) (any, error) {
	var in reactFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	if in.Seq == nil {
		return nil, fieldErr("seq", "seq is required: the message to react to.")
	}
	return h.chat.React(ctx, c.Principal, in.ConversationID, *in.Seq, in.Emoji, in.Remove)
}

type pinFrame struct {
	header
	ConversationID string `json:"conversation_id"`
	Seq            *int64 `json:"seq"`
	Unpin          bool   `json:"unpin,omitempty"`
}

// pin pins or unpins a message (chat.Service.Pin); the ack is the
// conversation's pins.
func (h *Handler) pin(ctx context.Context, c *Call) (any, error) {
	var in pinFrame
	if err := strictjson.Decode(c.Body, &in); err != nil {
		return nil, err
	}
	if in.Seq == nil {
		return nil, fieldErr("seq", "seq is required: the message to pin.")
	}
	return h.chat.Pin(ctx, c.Principal, in.ConversationID, *in.Seq, in.Unpin)
}
