package push

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/realtime"
)

// Job is one PushQueue message: a stored message to push to some of its
// recipients, the ones with no live WebSocket delivery.
type Job struct {
	Kind           string   `json:"kind"` // JobMessage
	ConversationID string   `json:"conversation_id,omitempty"`
	GroupID        string   `json:"group_id,omitempty"`
	Seq            int64    `json:"seq,omitempty"`
	MessageID      string   `json:"message_id,omitempty"`
	Sender         string   `json:"sender,omitempty"`
	Text           string   `json:"text,omitempty"` // the preview, at most PreviewRunes
	Users          []string `json:"users,omitempty"`
	// Mentions are the user ids the message mentions, and chat.MentionAll:
	// a recipient whose level is mentions is pushed only when named.
	Mentions []string  `json:"mentions,omitempty"`
	At       time.Time `json:"at,omitzero"`
	// Change jobs: "edited" or "recalled", and the change's event seq.
	Change   string `json:"change,omitempty"`
	EventSeq int64  `json:"event_seq,omitempty"`
	// Broadcast jobs (JobBroadcastPlan, JobBroadcastChunk).
	BroadcastID string `json:"broadcast_id,omitempty"`
	Page        int    `json:"page,omitempty"`
	After       string `json:"after,omitempty"` // the audience's page token
	Chunk       string `json:"chunk,omitempty"`
}

// Job kinds.
const (
	JobMessage        = "message"         // a new message's offline recipients
	JobChange         = "message.change"  // an edit or recall: update the notifications pushed for the message
	JobBroadcastPlan  = "broadcast.plan"  // read a page of a broadcast's audience, queue its chunks
	JobBroadcastChunk = "broadcast.chunk" // deliver a broadcast to up to 50 users
)

// Sizes.
const (
	// PreviewRunes is as much of a message's text as a push carries
	// (APNs payloads are at most 4 KB, FCM's 4 KB).
	PreviewRunes = 200
	// JobUsers is the most recipients per job: a job's work (per user: a
	// device Query, a preference read, the unread count) fits well in
	// the worker's timeout.
	JobUsers = 50
)

// Enqueuer turns the realtime notifier's offline reports into push jobs
// (realtime.OfflineSink): one SQS message per message and 50 recipients.
// It runs on the sender's path, so it only queues.
type Enqueuer struct {
	sender queue.BatchSender
	log    *slog.Logger
}

var _ realtime.OfflineSink = (*Enqueuer)(nil)

// NewEnqueuer returns an enqueuer sending to s (PushQueue).
func NewEnqueuer(s queue.BatchSender, log *slog.Logger) *Enqueuer {
	return &Enqueuer{sender: s, log: log}
}

// JobsOf are the jobs for a new message's offline recipients.
func JobsOf(f realtime.EventFrame, users []string) []Job {
	base := Job{Kind: JobMessage, ConversationID: f.ConversationID, GroupID: f.GroupID, Seq: f.Seq, Sender: f.Actor, At: f.At}
	switch f.Type {
	case "message.edited", "message.recalled":
		base.Kind, base.Change, base.EventSeq = JobChange, strings.TrimPrefix(f.Type, "message."), f.EventSeq
	}
	if m := f.Message; m != nil {
		base.MessageID, base.Sender, base.Text = m.MessageID, m.SenderID, truncate(m.Text, PreviewRunes)
		base.Mentions = m.Mentions
		if base.Text == "" && m.Payload != nil {
			base.Text = "[" + m.Payload.Type + "]"
		}
	}
	var out []Job
	for start := 0; start < len(users); start += JobUsers {
		j := base
		j.Users = users[start:min(start+JobUsers, len(users))]
		out = append(out, j)
	}
	return out
}

// Offline queues the pushes. A failure is logged: the message is stored
// and clients sync; a push is best effort.
func (q *Enqueuer) Offline(ctx context.Context, f realtime.EventFrame, users []string) {
	if err := SendJobs(ctx, q.sender, JobsOf(f, users)); err != nil {
		q.log.ErrorContext(ctx, "push: queue jobs failed", "conversation_id", f.ConversationID, "seq", f.Seq, "err", err.Error())
	}
}

// SendJobs sends jobs to PushQueue, 10 per SendMessageBatch; an entry
// the queue refuses is an error.
func SendJobs(ctx context.Context, s queue.BatchSender, jobs []Job) error {
	var msgs []queue.Message
	for _, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("push: marshal job: %w", err)
		}
		msgs = append(msgs, queue.Message{Body: string(b)})
	}
	for start := 0; start < len(msgs); start += queue.MaxBatch {
		batch := msgs[start:min(start+queue.MaxBatch, len(msgs))]
		refused, err := s.SendBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("push: queue jobs: %w", err)
		}
		if len(refused) > 0 {
			return fmt.Errorf("push: queue jobs: %d of %d entries refused (%s)", len(refused), len(batch), refused[0].Code)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
