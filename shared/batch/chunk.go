package batch

import (
	"encoding/json"
	"fmt"
)

// MessageVersion is the chunk message format version.
const MessageVersion = 1

// Message is one SQS message: one chunk of a job.
type Message struct {
	V     int    `json:"v"`
	JobID string `json:"job_id"`
	Kind  Kind   `json:"kind"`
	Chunk int    `json:"chunk"`
	// Expires is the job's expiry (epoch seconds): the chunk's marker
	// expires with the job.
	Expires int64 `json:"expires"`
	// Rows is a JSON array of Item[UserRow] or Item[GroupRow].
	Rows json.RawMessage `json:"rows"`
}

// chunk is a contiguous range of file rows: the valid ones go to SQS as one
// message, the invalid ones are stored with the chunk's index so that the
// error listing comes out in row order.
type chunk struct {
	Index  int
	Rows   []json.RawMessage // encoded Item[T], in row order
	Errors []RowError        // validation errors within the range
}

// makeChunks cuts a parsed file into chunks of at most maxRows file rows
// and ChunkMaxBytes of encoded valid rows.
func makeChunks[T any](p *Parsed[T], maxRows int) ([]chunk, error) {
	var out []chunk
	cur := chunk{}
	first, size := 1, 0
	flush := func(next int) {
		if len(cur.Rows)+len(cur.Errors) > 0 {
			out = append(out, cur)
		}
		cur = chunk{Index: cur.Index + 1}
		first, size = next, 0
	}
	ii, ei := 0, 0
	for row := 1; row <= p.Total; row++ {
		if ii < len(p.Items) && p.Items[ii].Row == row {
			enc, err := json.Marshal(p.Items[ii])
			if err != nil {
				return nil, fmt.Errorf("batch: encode row %d: %w", row, err)
			}
			if row-first >= maxRows || size+len(enc)+1 > ChunkMaxBytes {
				flush(row)
			}
			cur.Rows = append(cur.Rows, enc)
			size += len(enc) + 1
			ii++
			continue
		}
		if ei >= len(p.Errors) || p.Errors[ei].Row != row {
			return nil, fmt.Errorf("batch: row %d is neither valid nor invalid", row)
		}
		if row-first >= maxRows {
			flush(row)
		}
		cur.Errors = append(cur.Errors, p.Errors[ei])
		ei++
	}
	flush(0)
	return out, nil
}

// DecodeMessage parses a chunk message body.
func DecodeMessage(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Message{}, fmt.Errorf("batch: message is not JSON: %w", err)
	}
	if m.V != MessageVersion || m.JobID == "" || m.Chunk < 0 || len(m.Rows) == 0 {
		return Message{}, fmt.Errorf("batch: message lacks version, job, chunk or rows")
	}
	if m.Kind != KindUsers && m.Kind != KindGroups {
		return Message{}, fmt.Errorf("batch: message has unknown kind %q", m.Kind)
	}
	return m, nil
}

// packBatches groups message bodies for SendMessageBatch: at most 10 per
// call and MaxSQSBatchBytes in total. It returns index ranges into bodies.
func packBatches(bodies []string) [][2]int {
	var out [][2]int
	start, size := 0, 0
	for i, b := range bodies {
		if i-start == 10 || (i > start && size+len(b) > MaxSQSBatchBytes) {
			out = append(out, [2]int{start, i})
			start, size = i, 0
		}
		size += len(b)
	}
	if start < len(bodies) {
		out = append(out, [2]int{start, len(bodies)})
	}
	return out
}
