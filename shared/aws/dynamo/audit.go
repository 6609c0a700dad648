package dynamo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/audit"
)

// Audit is the audit log in its own table (AUDIT_TABLE,
// docs/data-model.md "Audit table"): pk "D#<yyyy-mm-dd>" (UTC day), sk the
// entry id (time-sortable); GSIs by_actor (actor, sk) and by_target
// (target, sk). It only puts and queries: the template's IAM gives no
// function UpdateItem or DeleteItem on the table, and entries leave by TTL.
type Audit struct {
	client *dynamodb.Client
	table  string
}

var _ audit.Store = (*Audit)(nil)

// NewAudit returns the adapter over table.
func NewAudit(client *dynamodb.Client, table string) *Audit {
	return &Audit{client: client, table: table}
}

// Index names (template.yaml, AuditTable).
const (
	auditByActor  = "by_actor"
	auditByTarget = "by_target"
	// auditDaysPerPage bounds the empty day partitions one page reads when
	// listing without actor or target (then the cursor resumes).
	auditDaysPerPage = 31
)

func auditDay(t time.Time) string { return "D#" + t.UTC().Format("2006-01-02") }

type auditItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	At        int64  `dynamodbav:"at"`
	Actor     string `dynamodbav:"actor"`
	Action    string `dynamodbav:"action"`
	Target    string `dynamodbav:"target,omitempty"`
	RequestID string `dynamodbav:"request_id,omitempty"`
	SourceIP  string `dynamodbav:"source_ip,omitempty"`
	UserAgent string `dynamodbav:"user_agent,omitempty"`
	Changes   string `dynamodbav:"changes,omitempty"` // JSON: values of any type, read back as written
	Count     int    `dynamodbav:"count,omitempty"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

// Append puts the entry, never over another: the put is conditional on
// the key being free (ids are random, so a clash is a bug or a forgery,
// and fails). IAM cannot make PutItem append-only (it could replace an
// entry of a known key); this condition does it for our code
// (docs/permissions.md, "Audit log"). The SDK's retryer retries a failed
// attempt; a retry that meets this very call's applied write (its answer
// was lost) is a success, recognised by the write token. 1 WCU per KB,
// plus one per GSI the entry appears in (by_target only with a target).
func (db *Audit) Append(ctx context.Context, e audit.Entry) error {
	it := auditItem{PK: auditDay(e.At), SK: e.ID, At: e.At.UnixMilli(), Actor: e.Actor, Action: e.Action, Target: e.Target,
		RequestID: e.RequestID, SourceIP: e.SourceIP, UserAgent: e.UserAgent, Count: e.Count, ExpiresAt: e.ExpiresAt}
	if len(e.Changes) > 0 {
		b, err := json.Marshal(e.Changes)
		if err != nil {
			return wrap("marshal audit changes", err)
		}
		it.Changes = string(b)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return wrap("marshal audit entry", err)
	}
	item = withWriteToken(item)
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if IsConditionFailed(err) && ownWrite(err, item) {
		return nil
	}
	if err != nil {
		return wrap("put audit entry", err)
	}
	return nil
}

func decodeAudit(m map[string]types.AttributeValue) (audit.Entry, error) {
	var it auditItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return audit.Entry{}, wrap("decode audit entry", err)
	}
	e := audit.Entry{ID: it.SK, At: time.UnixMilli(it.At).UTC(), Actor: it.Actor, Action: it.Action, Target: it.Target,
		RequestID: it.RequestID, SourceIP: it.SourceIP, UserAgent: it.UserAgent, Count: it.Count, ExpiresAt: it.ExpiresAt}
	if it.Changes != "" {
		if err := json.Unmarshal([]byte(it.Changes), &e.Changes); err != nil {
			return audit.Entry{}, wrap("decode audit changes", err)
		}
	}
	return e, nil
}

// List queries newest first: the actor or target index when the query
// names one (the other filters apply on the way), else the day partitions
// from Until down to Since, at most auditDaysPerPage of them per page.
func (db *Audit) List(ctx context.Context, q audit.Query) ([]audit.Entry, string, error) {
	upper := audit.Bound(q.Until)
	if q.Before != "" && q.Before < upper {
		upper = q.Before
	}
	lower := audit.Bound(q.Since)
	in := &dynamodb.QueryInput{TableName: &db.table, ScanIndexForward: aws.Bool(false),
		ExpressionAttributeValues: map[string]types.AttributeValue{":lo": str(lower), ":hi": str(upper)}}
	var filters []string
	names := map[string]string{}
	addFilter := func(attr, v string) {
		if v == "" {
			return
		}
		names["#"+attr] = attr
		in.ExpressionAttributeValues[":"+attr] = str(v)
		filters = append(filters, "#"+attr+" = :"+attr)
	}
	switch {
	case q.Actor != "":
		in.IndexName, in.KeyConditionExpression = aws.String(auditByActor), aws.String("actor = :k AND sk BETWEEN :lo AND :hi")
		in.ExpressionAttributeValues[":k"] = str(q.Actor)
		addFilter("target", q.Target)
		addFilter("action", q.Action)
	case q.Target != "":
		in.IndexName, in.KeyConditionExpression = aws.String(auditByTarget), aws.String("target = :k AND sk BETWEEN :lo AND :hi")
		in.ExpressionAttributeValues[":k"] = str(q.Target)
		addFilter("action", q.Action)
	default:
		in.KeyConditionExpression = aws.String("pk = :k AND sk BETWEEN :lo AND :hi")
		addFilter("action", q.Action)
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(joinAnd(filters))
		in.ExpressionAttributeNames = names
	}
	var out []audit.Entry
	collect := func() (bool, error) { // true: page full
		for {
			res, err := db.client.Query(ctx, in)
			if err != nil {
				return false, wrap("list audit entries", err)
			}
			for _, m := range res.Items {
				e, err := decodeAudit(m)
				if err != nil {
					return false, err
				}
				// BETWEEN includes :hi; the upper bound is exclusive.
				if e.ID < upper && len(out) <= q.Limit {
					out = append(out, e)
				}
			}
			if len(out) > q.Limit || len(res.LastEvaluatedKey) == 0 {
				return len(out) > q.Limit, nil
			}
			in.ExclusiveStartKey = res.LastEvaluatedKey
		}
	}
	if in.IndexName != nil {
		if _, err := collect(); err != nil {
			return nil, "", err
		}
		return page(out, q.Limit, "")
	}
	// Day partitions, newest first.
	hiTime, _ := audit.IDTime(upper)
	day := hiTime.UTC().Truncate(24 * time.Hour)
	if !hiTime.After(day) { // upper is a day's first instant: start the day before
		day = day.Add(-24 * time.Hour)
	}
	for range auditDaysPerPage {
		if !day.Add(24 * time.Hour).After(q.Since) { // the day ends before Since
			return page(out, q.Limit, "")
		}
		in.ExpressionAttributeValues[":k"] = str(auditDay(day))
		in.ExclusiveStartKey = nil
		full, err := collect()
		if err != nil {
			return nil, "", err
		}
		if full {
			return page(out, q.Limit, "")
		}
		day = day.Add(-24 * time.Hour)
	}
	if !day.Add(24 * time.Hour).After(q.Since) {
		return page(out, q.Limit, "")
	}
	// The budget of days ran out: resume below the last day read.
	return page(out, q.Limit, audit.Bound(day.Add(24*time.Hour)))
}

// page trims out to limit and says where the next page starts: after its
// last entry when it is full, else at resume ("" at the end).
func page(out []audit.Entry, limit int, resume string) ([]audit.Entry, string, error) {
	if len(out) > limit {
		return out[:limit], out[limit-1].ID, nil
	}
	return out, resume, nil
}

func joinAnd(parts []string) string {
	s := parts[0]
	for _, p := range parts[1:] {
		s += " AND " + p
	}
	return s
}
