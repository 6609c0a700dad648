package signup

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/strictjson"
	"github.com/tokenim/tokenim/shared/users"
)

// Request is a sign-up whose chat account is still to be created: the
// body of a SignupQueue message.
type Request struct {
	UserID    string            `json:"user_id"`
	Nickname  string            `json:"nickname,omitempty"`
	AvatarURL string            `json:"avatar_url,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Source    string            `json:"source"`
	QueuedAt  time.Time         `json:"queued_at"`
}

func (r Request) input() users.CreateInput {
	return users.CreateInput{UserID: r.UserID, Source: r.Source,
		Profile: users.Profile{Nickname: r.Nickname, AvatarURL: r.AvatarURL, Metadata: r.Metadata}}
}

// DecodeRequest reads a queued request strictly.
func DecodeRequest(body []byte) (Request, error) {
	var r Request
	if err := strictjson.Decode(body, &r); err != nil {
		return Request{}, err
	}
	if r.UserID == "" || r.Source == "" {
		return Request{}, apierror.New(apierror.ValidationFailed, "A queued sign-up needs user_id and source.")
	}
	return r, nil
}

// Queue holds sign-ups for a later attempt.
type Queue interface {
	Enqueue(ctx context.Context, r Request) error
}

// Accounts creates chat users; *users.Service is one.
type Accounts interface {
	Ensure(ctx context.Context, in users.CreateInput) (users.User, bool, error)
}

// Outcome is what became of one sign-up event.
type Outcome string

const (
	Created  Outcome = "created"  // the chat account was created now
	Repeated Outcome = "repeated" // it already existed for this identity (a repeated event)
	Queued   Outcome = "queued"   // creating failed; a retry is queued
	Skipped  Outcome = "skipped"  // not a sign-up (a password-reset confirmation)
	Rejected Outcome = "rejected" // it can never be created: no valid id, or the id is another identity's
	Lost     Outcome = "lost"     // creating and queueing both failed
)

// Options tune the trigger.
type Options struct {
	Mapping Mapping
	// WriteBudget bounds the direct DynamoDB attempt, QueueBudget the SQS
	// fallback: together well inside Cognito's 5 s, with the cold start.
	WriteBudget, QueueBudget time.Duration
	// MetricsNamespace of the SignupFailures metric (template: TokenIM/<stack>).
	MetricsNamespace string
	Now              func() time.Time
}

// Default budgets.
const (
	DefaultWriteBudget = 2 * time.Second
	DefaultQueueBudget = 1500 * time.Millisecond
)

// Service turns sign-up events into chat accounts.
type Service struct {
	accounts Accounts
	queue    Queue
	log      *slog.Logger
	o        Options
}

// NewService builds the service.
func NewService(a Accounts, q Queue, log *slog.Logger, o Options) *Service {
	if o.WriteBudget <= 0 {
		o.WriteBudget = DefaultWriteBudget
	}
	if o.QueueBudget <= 0 {
		o.QueueBudget = DefaultQueueBudget
	}
	if o.MetricsNamespace == "" {
		o.MetricsNamespace = "TokenIM"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{accounts: a, queue: q, log: log, o: o}
}

// CognitoSignUp is the trigger source of a confirmed sign-up; the same
// trigger also fires for password-reset confirmations, which must not
// create (or re-create a deleted) chat account.
const CognitoSignUp = "PostConfirmation_ConfirmSignUp"

// Confirmation is what Confirmed needs of a Cognito PostConfirmation
// event (the trigger's handler copies it out of the Lambda event).
type Confirmation struct {
	TriggerSource string
	UserPoolID    string
	Attributes    map[string]string // the user's attributes, "sub" among them
}

// Confirmed handles a Cognito PostConfirmation event. It never fails: a
// sign-up must succeed even when chat cannot keep up. It tries to create
// the account at once (so the user can chat the moment they sign up),
// queues the creation if that fails for a reason a retry can fix, and
// counts in the SignupFailures metric what can be neither.
func (s *Service) Confirmed(ctx context.Context, ev Confirmation) Outcome {
	log := s.log.With("trigger_source", ev.TriggerSource, "user_pool_id", ev.UserPoolID)
	if ev.TriggerSource != CognitoSignUp {
		log.DebugContext(ctx, "not a sign-up; nothing to do")
		return Skipped
	}
	sub := ev.Attributes["sub"]
	if sub == "" {
		s.failure(ctx, log, Rejected, "the event has no sub")
		return Rejected
	}
	log = log.With("sub", sub)
	in, dropped, err := s.o.Mapping.Account(CognitoSource(ev.UserPoolID, sub), ev.Attributes)
	if err != nil {
		s.failure(ctx, log, Rejected, "no valid user id", "reason", apierror.Public(err).Message)
		return Rejected
	}
	log = log.With("user_id", in.UserID)
	if len(dropped) > 0 {
		log.WarnContext(ctx, "attributes not copied to the chat profile", "attributes", dropped)
	}

	wctx, cancel := context.WithTimeout(ctx, s.budget(ctx, s.o.WriteBudget, s.o.QueueBudget))
	_, created, err := s.accounts.Ensure(wctx, in)
	cancel()
	switch {
	case err == nil && created:
		log.InfoContext(ctx, "chat account created")
		return Created
	case err == nil:
		log.InfoContext(ctx, "chat account already exists for this identity")
		return Repeated
	case permanent(err):
		s.failure(ctx, log, Rejected, "the user id cannot be used", "reason", apierror.Public(err).Message)
		return Rejected
	}
	createErr := err
	req := Request{UserID: in.UserID, Nickname: in.Nickname, AvatarURL: in.AvatarURL, Metadata: in.Metadata,
		Source: in.Source, QueuedAt: s.o.Now().UTC()}
	qctx, cancel := context.WithTimeout(ctx, s.budget(ctx, s.o.QueueBudget, 0))
	defer cancel()
	if err := s.queue.Enqueue(qctx, req); err != nil {
		s.failure(ctx, log, Lost, "chat account neither created nor queued", "create_err", createErr.Error(), "queue_err", err.Error())
		return Lost
	}
	log.WarnContext(ctx, "chat account creation queued", "err", createErr.Error())
	return Queued
}

// Retry creates a queued sign-up's account. It returns an error only when
// another attempt may succeed (the message is then redelivered); a
// request that can never succeed is counted and dropped.
func (s *Service) Retry(ctx context.Context, r Request) error {
	log := s.log.With("user_id", r.UserID, "source", r.Source, "queued_at", r.QueuedAt)
	_, created, err := s.accounts.Ensure(ctx, r.input())
	switch {
	case err == nil:
		log.InfoContext(ctx, "queued chat account done", "created", created)
		return nil
	case permanent(err):
		s.failure(ctx, log, Rejected, "queued sign-up cannot be created", "reason", apierror.Public(err).Message)
		return nil
	}
	return err
}

// Malformed counts a queue message that is not a Request (never retried).
func (s *Service) Malformed(ctx context.Context, messageID string, err error) {
	s.failure(ctx, s.log.With("message_id", messageID), Rejected, "malformed queued sign-up", "reason", apierror.Public(err).Message)
}

// permanent: the error is the request's fault (an apierror code), so a
// retry would fail the same way; anything else (throttling, timeouts,
// outages) may pass.
func permanent(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return apierror.CodeOf(err) != apierror.Internal
}

// budget is want, cut so that reserve is left before ctx's deadline.
func (s *Service) budget(ctx context.Context, want, reserve time.Duration) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return want
	}
	left := time.Until(d) - reserve - 100*time.Millisecond
	if left < want {
		return max(left, 50*time.Millisecond)
	}
	return want
}

func (s *Service) failure(ctx context.Context, log *slog.Logger, o Outcome, msg string, attrs ...any) {
	logging.Metric(ctx, log, s.o.MetricsNamespace, "SignupFailures", 1, msg, append([]any{"outcome", string(o)}, attrs...)...)
}
