// Package batch creates users and groups in bulk from a JSON or CSV file.
//
// The life of a job:
//
//  1. Submit parses the whole file and validates every row before anything
//     is written. Invalid rows are reported with their row number and code;
//     an unusable file (empty, bad encoding, wrong columns) is refused.
//  2. The valid rows are cut into chunks (contiguous file rows, at most
//     ChunkMaxRows rows and ChunkMaxBytes of JSON) and sent to SQS, ten
//     chunks per SendMessageBatch. The job record holds the counters.
//  3. The worker creates each row with a conditional PutItem (never an
//     overwrite). The user item records the job id, so a redelivered chunk
//     recognises its own earlier writes and counts them as created once.
//  4. A chunk is committed exactly once: one transaction puts the chunk's
//     marker (condition: not there yet), with its failed rows, and adds the
//     chunk's counts to the job. So created + failed + pending = total at
//     every moment, however often SQS redelivers.
//  5. A chunk that fails every delivery lands in the dead-letter queue; the
//     dead-letter consumer commits it, classifying each row by reading it, so
//     every job finishes.
//
// docs/data-model.md ("Jobs table") has the items and their costs.
package batch

import (
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Kind is what a job creates.
type Kind string

// Kinds.
const (
	KindUsers  Kind = "users"
	KindGroups Kind = "groups"
)

// Limits. docs/openapi.yaml and README quote them.
const (
	// MaxBodyBytes bounds a submitted file. A CSV body reaches Lambda
	// base64-encoded (text/csv is a binary media type, so bytes arrive
	// intact): 4 MiB becomes 5.6 MB, under Lambda's 6 MB synchronous
	// payload limit with room for headers. API Gateway's own limit is 10 MB.
	MaxBodyBytes = 4 << 20
	// MaxRows bounds the data rows of one file.
	MaxRows = 100_000
	// ChunkMaxRows and ChunkMaxBytes bound one SQS message: a chunk covers at
	// most ChunkMaxRows consecutive file rows, and its rows' JSON stays under
	// ChunkMaxBytes so the message is well below SQS's 256 KB.
	ChunkMaxRows  = 200
	ChunkMaxBytes = 192 << 10
	// MaxSQSBatchBytes is SendMessageBatch's total payload limit (256 KiB).
	MaxSQSBatchBytes = 256 << 10
	// InlineMaxRows: a job with at most this many valid rows is processed
	// inside the submit call (no queue) and answered 200 with its final
	// state instead of 202.
	InlineMaxRows = 100
	// ListedErrors is how many row errors a submit response lists inline;
	// GET /v1/jobs/{id}/errors has them all.
	ListedErrors = 100
	// DryRunListedErrors is the same for dry runs (nothing is stored).
	DryRunListedErrors = 1000
	// JobTTL is how long a job, its chunks and errors are kept.
	JobTTL = 30 * 24 * time.Hour
)

// State is a job's state, derived from its counters.
type State string

// States.
const (
	StateQueued          State = "queued"           // no chunk finished yet
	StateRunning         State = "running"          // some chunks finished, rows pending
	StateSucceeded       State = "succeeded"        // every row created
	StatePartiallyFailed State = "partially_failed" // finished, some rows failed
	StateFailed          State = "failed"           // finished, no row created
	StateValidated       State = "validated"        // dry run only
)

// Job is a batch job as clients see it.
type Job struct {
	JobID string `json:"job_id,omitempty"`
	Kind  Kind   `json:"kind"`
	// Format is the submitted file's format: "csv" or "json".
	Format string `json:"format"`
	State  State  `json:"state"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Total is the file's data rows; every one ends created or failed.
	Total   int `json:"total"`
	Created int `json:"created"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
	// Invalid is the rows refused by validation (included in Failed).
	Invalid int `json:"invalid"`
	// Chunks is the number of queued chunks, ChunksDone those finished.
	Chunks     int        `json:"chunks"`
	ChunksDone int        `json:"chunks_done"`
	CreatedAt  time.Time  `json:"created_at,omitzero"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ExpiresAt  time.Time  `json:"expires_at,omitzero"`
	// KeyID is the credential that submitted the job (admin tokens only).
	KeyID string `json:"-"`
	// UpdatedAt is the time of the last chunk commit.
	UpdatedAt time.Time `json:"-"`
}

// Derive fills Pending, State and FinishedAt from the counters. Pending is
// computed, never stored: with created and failed only ever added once per
// chunk, created + failed + pending = total holds by construction.
func (j *Job) Derive() {
	j.Pending = j.Total - j.Created - j.Failed
	switch {
	case j.Pending > 0 && j.ChunksDone == 0:
		j.State = StateQueued
	case j.Pending > 0:
		j.State = StateRunning
	case j.Created == j.Total:
		j.State = StateSucceeded
	case j.Created == 0:
		j.State = StateFailed
	default:
		j.State = StatePartiallyFailed
	}
	j.FinishedAt = nil
	if j.Pending == 0 && !j.UpdatedAt.IsZero() {
		t := j.UpdatedAt
		j.FinishedAt = &t
	}
}

// Finished reports whether every row is created or failed.
func (j Job) Finished() bool { return j.Total-j.Created-j.Failed == 0 }

// RowError is one failed row.
type RowError struct {
	// Row is the 1-based data row: the n-th record after the CSV header, or
	// the n-th element of the JSON array.
	Row int `json:"row"`
	// ID is the row's id as written in the file (sanitised: valid UTF-8, at
	// most 128 bytes).
	ID      string        `json:"id"`
	Code    apierror.Code `json:"code"`
	Message string        `json:"message"`
}

// rowError builds a RowError from a use-case error (its public code and
// message; internal errors never reach it).
func rowError(row int, id string, err error) RowError {
	e := apierror.Public(err)
	return RowError{Row: row, ID: cleanID(id), Code: e.Code, Message: e.Message}
}

// Submitted is the answer to a submit: the job plus the first row errors.
type Submitted struct {
	Job
	Errors          []RowError `json:"errors"`
	ErrorsTruncated bool       `json:"errors_truncated"`
	// Replayed: a retry with the same Idempotency-Key got the first job.
	Replayed bool `json:"-"`
}
