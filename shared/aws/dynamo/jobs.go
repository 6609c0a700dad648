package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/users"
)

// Jobs table items (docs/data-model.md, "Jobs table"):
//
//	job                JOB#<id>  JOB              counters, timestamps
//	chunk marker       JOB#<id>  C#<chunk>        created, failed, errs (the chunk's failed rows)
//	validation errors  JOB#<id>  C#<chunk>#V      errs (invalid rows in the chunk's range)
//	active jobs        QUOTA     ACTIVE           jobs: map job id -> acquired at (ms)
//	rows per day       QUOTA     DAY#<yyyy-mm-dd> rows
//
// Chunk items sort by chunk, so the error listing is one Query in row order.
const (
	jobSK       = "JOB"
	quotaPK     = "QUOTA"
	activeSK    = "ACTIVE"
	chunkPrefix = "C#"
)

func jobPK(id string) string { return "JOB#" + id }

func chunkSK(n int) string { return fmt.Sprintf("%s%06d", chunkPrefix, n) }

type jobItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Kind       string `dynamodbav:"kind"`
	Format     string `dynamodbav:"format"`
	Total      int    `dynamodbav:"total"`
	Invalid    int    `dynamodbav:"invalid"`
	Created    int    `dynamodbav:"created"`
	Failed     int    `dynamodbav:"failed"`
	Chunks     int    `dynamodbav:"chunks"`
	ChunksDone int    `dynamodbav:"chunks_done"`
	KeyID      string `dynamodbav:"key_id,omitempty"`
	CreatedAt  int64  `dynamodbav:"created_at"`
	StartedAt  int64  `dynamodbav:"started_at,omitempty"`
	UpdatedAt  int64  `dynamodbav:"updated_at,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expires_at"`
}

func (it jobItem) job() batch.Job {
	j := batch.Job{JobID: strings.TrimPrefix(it.PK, "JOB#"), Kind: batch.Kind(it.Kind), Format: it.Format, Total: it.Total,
		Invalid: it.Invalid, Created: it.Created, Failed: it.Failed, Chunks: it.Chunks, ChunksDone: it.ChunksDone, KeyID: it.KeyID,
		CreatedAt: time.UnixMilli(it.CreatedAt).UTC(), ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}
	if it.StartedAt > 0 {
		t := time.UnixMilli(it.StartedAt).UTC()
		j.StartedAt = &t
	}
	if it.UpdatedAt > 0 {
		j.UpdatedAt = time.UnixMilli(it.UpdatedAt).UTC()
	}
	return j
}

// errItem is a RowError as stored (short names: chunk items hold up to 200).
type errItem struct {
	Row     int    `dynamodbav:"r"`
	ID      string `dynamodbav:"i"`
	Code    string `dynamodbav:"c"`
	Message string `dynamodbav:"m"`
}

func toErrItems(errs []batch.RowError) []errItem {
	out := make([]errItem, len(errs))
	for i, e := range errs {
		out[i] = errItem{Row: e.Row, ID: e.ID, Code: string(e.Code), Message: e.Message}
	}
	return out
}

type chunkItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Created   int       `dynamodbav:"created,omitempty"`
	Failed    int       `dynamodbav:"failed,omitempty"`
	By        string    `dynamodbav:"by,omitempty"`
	At        int64     `dynamodbav:"at,omitempty"`
	Errs      []errItem `dynamodbav:"errs,omitempty"`
	ExpiresAt int64     `dynamodbav:"expires_at"`
}

// PutJob writes a new job (1 WCU).
func (db *Jobs) PutJob(ctx context.Context, j batch.Job) error {
	item, err := attributevalue.MarshalMap(jobItem{PK: jobPK(j.JobID), SK: jobSK, Kind: string(j.Kind), Format: j.Format,
		Total: j.Total, Invalid: j.Invalid, Failed: j.Failed, Chunks: j.Chunks, KeyID: j.KeyID,
		CreatedAt: j.CreatedAt.UnixMilli(), ExpiresAt: j.ExpiresAt.Unix()})
	if err != nil {
		return wrap("marshal job", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Jobs, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if IsConditionFailed(err) {
		return batch.ErrJobExists
	}
	if err != nil {
		return wrap("put job", err)
	}
	return nil
}

// GetJob reads a job, strongly consistent (1 RCU).
func (db *Jobs) GetJob(ctx context.Context, id string) (batch.Job, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Jobs, Key: key(jobPK(id), jobSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return batch.Job{}, wrap("get job", err)
	}
	if out.Item == nil {
		return batch.Job{}, apierror.New(apierror.NotFound, "Job %q was not found (jobs are kept %d days).", id, int(batch.JobTTL.Hours()/24))
	}
	var it jobItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return batch.Job{}, wrap("decode job", err)
	}
	return it.job(), nil
}

// ChunkStatus reads the job and the chunk's marker in one BatchGetItem
// (2 RCU); unprocessed keys are retried by batchRead.
func (db *Jobs) ChunkStatus(ctx context.Context, jobID string, chunk int) (*batch.Job, bool, error) {
	var job *batch.Job
	done := false
	err := db.batchRead(ctx, "chunk status", map[string]types.KeysAndAttributes{
		db.t.Jobs: {Keys: []map[string]types.AttributeValue{key(jobPK(jobID), jobSK), key(jobPK(jobID), chunkSK(chunk))}, ConsistentRead: aws.Bool(true)},
	}, func(_ string, m map[string]types.AttributeValue) error {
		sk, _ := m[attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			return nil
		}
		if sk.Value != jobSK {
			done = true
			return nil
		}
		var it jobItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return wrap("decode job", err)
		}
		j := it.job()
		job = &j
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return job, done, nil
}

// PutChunkErrors writes validation-error items, up to 25 per BatchWriteItem
// (1 WCU per KB each); unprocessed items are retried by batchWrite.
func (db *Jobs) PutChunkErrors(ctx context.Context, jobID string, lists []batch.ChunkErrors, expires time.Time) error {
	if len(lists) > 25 {
		return fmt.Errorf("store: put chunk errors: %d items, at most 25", len(lists))
	}
	reqs := make([]types.WriteRequest, len(lists))
	for i, l := range lists {
		sk := chunkSK(l.Chunk) + "#V"
		item, err := attributevalue.MarshalMap(chunkItem{PK: jobPK(jobID), SK: sk, Errs: toErrItems(l.Errors), ExpiresAt: expires.Unix()})
		if err != nil {
			return wrap("marshal chunk errors", err)
		}
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
	}
	return db.batchWrite(ctx, "put chunk errors", map[string][]types.WriteRequest{db.t.Jobs: reqs})
}

// CommitChunk records a chunk's result exactly once: one transaction puts
// the marker (condition: absent) and adds the counts to the job (condition:
// the job exists). 2 WCU per KB of each item: 4 WCU for a chunk without
// failed rows. It returns false if the marker existed (already counted).
func (db *Jobs) CommitChunk(ctx context.Context, c batch.Commit) (bool, error) {
	marker, err := attributevalue.MarshalMap(chunkItem{PK: jobPK(c.JobID), SK: chunkSK(c.Chunk), Created: c.Created, Failed: len(c.Errors),
		By: c.By, At: c.At.UnixMilli(), Errs: toErrItems(c.Errors), ExpiresAt: c.Expires.Unix()})
	if err != nil {
		return false, wrap("marshal chunk", err)
	}
	now := strconv.FormatInt(c.At.UnixMilli(), 10)
	_, err = db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &db.t.Jobs, Item: marker, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: &db.t.Jobs, Key: key(jobPK(c.JobID), jobSK),
			UpdateExpression:    aws.String("ADD created :c, failed :f, chunks_done :one SET updated_at = :now, started_at = if_not_exists(started_at, :now)"),
			ConditionExpression: aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":c": num(int64(c.Created)), ":f": num(int64(len(c.Errors))), ":one": num(1), ":now": &types.AttributeValueMemberN{Value: now},
			}}},
	}})
	if reasons := cancelReasons(err); reasons != nil {
		code := func(i int) string {
			if i < len(reasons) {
				return aws.ToString(reasons[i].Code)
			}
			return ""
		}
		switch {
		case code(0) == "ConditionalCheckFailed":
			return false, nil
		case code(1) == "ConditionalCheckFailed":
			return false, apierror.New(apierror.NotFound, "Job %q was not found.", c.JobID)
		}
		for i := range reasons {
			switch code(i) {
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				return false, fmt.Errorf("store: commit chunk: %s: %w", code(i), batch.ErrConflict)
			}
		}
		return false, wrap("commit chunk", err)
	}
	if err != nil {
		return false, wrap("commit chunk", err)
	}
	return true, nil
}

// ErrorsFrom reads the chunk items that hold errors, from chunk from on,
// in key (= row) order, strongly consistent, until it has at least want
// errors and reaches the next chunk. Every chunk item carries an errs list,
// empty when the chunk had none, so the filter is on its size: a listing
// never returns, or points its cursor at, a chunk without errors.
func (db *Jobs) ErrorsFrom(ctx context.Context, jobID string, from, want int) ([]batch.ChunkErrors, int, error) {
	var out []batch.ChunkErrors
	total := 0
	var start map[string]types.AttributeValue
	for range 10_000 { // bounded: 10,000 pages of 1 MB
		res, err := db.client.Query(ctx, &dynamodb.QueryInput{
			TableName:              &db.t.Jobs,
			KeyConditionExpression: aws.String("pk = :p AND sk BETWEEN :from AND :to"),
			FilterExpression:       aws.String("size(errs) > :zero"),
			ProjectionExpression:   aws.String("sk, errs"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":p": &types.AttributeValueMemberS{Value: jobPK(jobID)}, ":from": &types.AttributeValueMemberS{Value: chunkSK(from)},
				":to": &types.AttributeValueMemberS{Value: chunkPrefix + "~"}, ":zero": num(0),
			},
			ConsistentRead:    aws.Bool(true),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, 0, wrap("list job errors", err)
		}
		for _, m := range res.Items {
			var it chunkItem
			if err := attributevalue.UnmarshalMap(m, &it); err != nil {
				return nil, 0, wrap("decode chunk errors", err)
			}
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(it.SK, chunkPrefix), "#V"))
			if err != nil {
				return nil, 0, fmt.Errorf("store: bad chunk key %q", it.SK)
			}
			if len(out) == 0 || out[len(out)-1].Chunk != n {
				if total >= want {
					return out, n, nil
				}
				out = append(out, batch.ChunkErrors{Chunk: n})
			}
			last := &out[len(out)-1]
			for _, e := range it.Errs {
				last.Errors = append(last.Errors, batch.RowError{Row: e.Row, ID: e.ID, Code: apierror.Code(e.Code), Message: e.Message})
			}
			total += len(it.Errs)
		}
		if start = res.LastEvaluatedKey; len(start) == 0 {
			return out, -1, nil
		}
	}
	return nil, 0, errors.New("store: list job errors: too many pages")
}

// ReserveRows adds n to the day's row counter unless it would pass max
// (1 WCU).
func (db *Jobs) ReserveRows(ctx context.Context, day string, n, max int, expires time.Time) (bool, error) {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &db.t.Jobs, Key: key(quotaPK, "DAY#"+day),
		UpdateExpression:          aws.String("ADD #rows :n SET expires_at = :e"),
		ConditionExpression:       aws.String("attribute_not_exists(#rows) OR #rows <= :room"),
		ExpressionAttributeNames:  map[string]string{"#rows": "rows"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(n)), ":room": num(int64(max - n)), ":e": num(expires.Unix())},
	})
	if IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("reserve rows", err)
	}
	return true, nil
}

// ReleaseRows gives n rows back to the day's quota (1 WCU).
func (db *Jobs) ReleaseRows(ctx context.Context, day string, n int) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &db.t.Jobs, Key: key(quotaPK, "DAY#"+day),
		UpdateExpression:          aws.String("ADD #rows :n"),
		ConditionExpression:       aws.String("attribute_exists(#rows)"),
		ExpressionAttributeNames:  map[string]string{"#rows": "rows"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(-n))},
	})
	if err != nil && !IsConditionFailed(err) {
		return wrap("release rows", err)
	}
	return nil
}

// AcquireSlot adds jobID to the active-jobs map unless it holds max jobs
// (1 WCU); on refusal it returns the holders.
func (db *Jobs) AcquireSlot(ctx context.Context, jobID string, max int, now time.Time) (bool, map[string]time.Time, error) {
	for attempt := 0; attempt < 2; attempt++ {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &db.t.Jobs, Key: key(quotaPK, activeSK),
			UpdateExpression:                    aws.String("SET jobs.#j = :t"),
			ConditionExpression:                 aws.String("attribute_exists(jobs) AND size(jobs) < :max"),
			ExpressionAttributeNames:            map[string]string{"#j": jobID},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":t": num(now.UnixMilli()), ":max": num(int64(max))},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return true, nil, nil
		}
		if !IsConditionFailed(err) {
			return false, nil, wrap("acquire slot", err)
		}
		var old struct {
			Jobs map[string]int64 `dynamodbav:"jobs"`
		}
		if m := conditionOld(err); m != nil {
			if err := attributevalue.UnmarshalMap(m, &old); err != nil {
				return false, nil, wrap("decode active jobs", err)
			}
		}
		if old.Jobs == nil && attempt == 0 {
			// First job ever (or the emulator returned no old item): make
			// sure the map exists, then try again.
			_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: &db.t.Jobs, Key: key(quotaPK, activeSK),
				UpdateExpression:          aws.String("SET jobs = if_not_exists(jobs, :empty)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}},
			})
			if err != nil {
				return false, nil, wrap("create active jobs", err)
			}
			continue
		}
		holders := make(map[string]time.Time, len(old.Jobs))
		for id, ms := range old.Jobs {
			holders[id] = time.UnixMilli(ms)
		}
		return false, holders, nil
	}
	return false, nil, nil
}

// ReleaseSlot removes jobID from the active-jobs map (1 WCU; a no-op if it
// is not there).
func (db *Jobs) ReleaseSlot(ctx context.Context, jobID string) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &db.t.Jobs, Key: key(quotaPK, activeSK),
		UpdateExpression:         aws.String("REMOVE jobs.#j"),
		ConditionExpression:      aws.String("attribute_exists(jobs.#j)"),
		ExpressionAttributeNames: map[string]string{"#j": jobID},
	})
	if err != nil && !IsConditionFailed(err) {
		return wrap("release slot", err)
	}
	return nil
}

// CreateUserForJob writes u, recording jobID, unless the id exists (1 WCU,
// also when the condition fails). The failed condition returns the existing
// item, whose job_id tells an earlier delivery of this job from a user that
// existed before.
func (db *Jobs) CreateUserForJob(ctx context.Context, u users.User, jobID string) (batch.Outcome, error) {
	item, err := UserItem(u, jobID)
	if err != nil {
		return 0, wrap("marshal user", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &db.t.Users, Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return batch.Created, nil
	}
	if !IsConditionFailed(err) {
		return 0, wrap("create user for job", err)
	}
	old := conditionOld(err)
	if old == nil {
		// The service always returns the item; read it if it did not.
		out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: UserKey(u.UserID),
			ProjectionExpression: aws.String("job_id"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, wrap("read existing user", err)
		}
		old = out.Item
	}
	if s, ok := old["job_id"].(*types.AttributeValueMemberS); ok && s.Value == jobID {
		return batch.CreatedEarlier, nil
	}
	return batch.Exists, nil
}

// FindUsers reads up to 100 users' job_id in one BatchGetItem (consistent:
// 1 RCU each); unprocessed keys are retried by batchRead.
func (db *Jobs) FindUsers(ctx context.Context, ids []string) (map[string]string, error) {
	if len(ids) > 100 {
		return nil, fmt.Errorf("store: find users: %d ids, at most 100", len(ids))
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = UserKey(id)
	}
	found := map[string]string{}
	err := db.batchRead(ctx, "find users", map[string]types.KeysAndAttributes{
		db.t.Users: {Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("sk, job_id")},
	}, func(_ string, m map[string]types.AttributeValue) error {
		var v struct {
			SK    string `dynamodbav:"sk"`
			JobID string `dynamodbav:"job_id"`
		}
		if err := attributevalue.UnmarshalMap(m, &v); err != nil {
			return wrap("decode user", err)
		}
		found[v.SK] = v.JobID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}
