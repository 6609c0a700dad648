package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
)

// Large-group fan-out (docs/websocket.md, "Large groups"). The sender's
// invocation queues one plan job; the fan-out worker turns each plan job
// into chunk jobs for one page of members (and a plan job for the next
// page), and each chunk job into pushes to its members' connections.

// Job kinds.
const (
	JobPlan  = "plan"  // page through members after After, queue chunks
	JobChunk = "chunk" // push to Users (members of Group, checked at push time)
	JobRetry = "retry" // push again to Targets whose push failed retryably
)

// Fan-out sizes.
const (
	PlanPage    = 1000 // member ids read per plan job (one Query)
	ChunkUsers  = 50   // users per chunk: 50 member + 50 presence keys = one BatchGetItem
	MaxAttempts = 3    // retry jobs per failed target before giving up (clients sync)
)

// Job is one fan-out message on the queue.
type Job struct {
	Kind    string          `json:"kind"`
	Group   string          `json:"group_id,omitempty"`
	After   string          `json:"after,omitempty"`
	Users   []string        `json:"users,omitempty"`
	Direct  bool            `json:"direct,omitempty"` // Users need no membership check (they just left)
	Targets []Target        `json:"targets,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
	Exclude string          `json:"exclude,omitempty"`
	Frame   json.RawMessage `json:"frame"`
	// Delay is the queue delay for this job (not serialized).
	Delay int32 `json:"-"`
}

// planJobs are the jobs a large group's delivery starts with.
func planJobs(aud Audience, frame []byte) []Job {
	jobs := []Job{{Kind: JobPlan, Group: aud.Group, Exclude: aud.Exclude, Frame: frame}}
	users := uniq(aud.Users)
	for start := 0; start < len(users); start += 100 { // one presence BatchGetItem each
		jobs = append(jobs, Job{Kind: JobChunk, Group: aud.Group, Users: users[start:min(start+100, len(users))], Direct: true,
			Exclude: aud.Exclude, Frame: frame})
	}
	return jobs
}

// Queue takes fan-out jobs.
type Queue interface {
	Enqueue(ctx context.Context, jobs []Job) error
}

// JobQueue is the fan-out queue (FanoutQueue in template.yaml) on a
// queue.BatchSender (sqsqueue.Queue).
type JobQueue struct {
	sender queue.BatchSender
}

// NewJobQueue returns the job queue sending through s.
func NewJobQueue(s queue.BatchSender) *JobQueue { return &JobQueue{sender: s} }

// maxBatchBytes keeps a SendMessageBatch under SQS's 256 KB (the limit of
// older queues; newer ones take 1 MiB).
const maxBatchBytes = 200 << 10

// Enqueue sends jobs in batches of up to queue.MaxBatch entries and
// 200 KB; an entry the queue refuses is an error.
func (q *JobQueue) Enqueue(ctx context.Context, jobs []Job) error {
	var batch []queue.Message
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := q.sendBatch(ctx, batch)
		batch, size = nil, 0
		return err
	}
	for _, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("realtime: marshal job: %w", err)
		}
		if len(batch) == queue.MaxBatch || size+len(b) > maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, queue.Message{Body: string(b), Delay: time.Duration(j.Delay) * time.Second})
		size += len(b)
	}
	return flush()
}

// sendBatch makes one SendBatch (its HTTP retries are the SDK's).
// Entries the queue refuses are not sent again here: the error fails the
// job that queues them, and SQS redelivers that job (or the sender's call
// reports it), so retries stay bounded by the one policy.
func (q *JobQueue) sendBatch(ctx context.Context, msgs []queue.Message) error {
	refused, err := q.sender.SendBatch(ctx, msgs)
	if err != nil {
		return fmt.Errorf("realtime: queue fan-out jobs: %w", err)
	}
	if len(refused) > 0 {
		return fmt.Errorf("realtime: queue fan-out jobs: %d of %d entries refused (%s)", len(refused), len(msgs), refused[0].Code)
	}
	return nil
}

// Process runs one fan-out job (the fan-out worker). Pushes that fail
// retryably are queued again as a retry job for exactly those
// connections, so a retry never pushes twice to a connection that already
// got the frame. An error (reading members or presence, or queueing)
// makes the worker report the job as a batch item failure, and SQS
// redelivers it whole: then connections already pushed may get the frame
// twice, which clients drop by seq.
func (n *Notifier) Process(ctx context.Context, j Job) error {
	if len(j.Frame) == 0 || (j.Kind != JobRetry && j.Group == "") {
		return fmt.Errorf("realtime: malformed %q job", j.Kind)
	}
	now := n.now()
	var targets []Target
	var audience []string // a chunk's users, for the offline report
	switch j.Kind {
	case JobPlan:
		ids, next, err := n.store.GroupMemberIDs(ctx, j.Group, PlanPage, j.After)
		if err != nil {
			return err
		}
		var jobs []Job
		for start := 0; start < len(ids); start += ChunkUsers {
			jobs = append(jobs, Job{Kind: JobChunk, Group: j.Group, Users: ids[start:min(start+ChunkUsers, len(ids))], Exclude: j.Exclude, Frame: j.Frame})
		}
		if next != "" {
			jobs = append(jobs, Job{Kind: JobPlan, Group: j.Group, After: next, Exclude: j.Exclude, Frame: j.Frame})
		}
		return n.queue.Enqueue(ctx, jobs)
	case JobChunk:
		var pres map[string]Presence
		var err error
		if j.Direct {
			pres, err = n.store.Presence(ctx, j.Users, now)
		} else {
			pres, err = n.store.GroupPresence(ctx, j.Group, j.Users, now)
		}
		if err != nil {
			return err
		}
		// The members when the plan job read them: one who left between
		// the plan and this chunk may still be pushed this one message.
		// Those who blocked the sender get nothing (blocks.go).
		held, err := n.blockers(ctx, n.heldFrame(j.Frame), j.Users)
		if err != nil {
			return err
		}
		targets = filter(targetsOf(pres), Audience{ExcludeUsers: held})
		audience = withoutExcluded(j.Users, held)
	case JobRetry:
		targets = j.Targets
	default:
		return fmt.Errorf("realtime: unknown job kind %q", j.Kind)
	}
	out := n.pushAll(ctx, filter(targets, Audience{Exclude: j.Exclude}), j.Frame)
	if f, ok := n.frameOf(j.Frame); ok && audience != nil {
		n.reportOffline(ctx, f, audience, out)
	}
	if len(out.Failed) == 0 {
		return nil
	}
	if j.Attempt+1 >= MaxAttempts {
		n.log.WarnContext(ctx, "fan-out gave up", "group_id", j.Group, "targets", len(out.Failed))
		return nil
	}
	retry := Job{Kind: JobRetry, Group: j.Group, Targets: out.Failed, Attempt: j.Attempt + 1, Frame: j.Frame, Delay: int32(2 << j.Attempt)}
	return n.queue.Enqueue(ctx, []Job{retry})
}
