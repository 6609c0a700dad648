package local

import (
	"fmt"

	"quamina.net/go/quamina"
)

// recordFilter is a stream event's FilterCriteria: Lambda's filter syntax
// is EventBridge's pattern language, matched against each record's JSON
// as the function would receive it (eventName, dynamodb.Keys,
// dynamodb.NewImage, ...). A record is delivered when any pattern matches;
// with no patterns every record is. Quamina (Tim Bray's implementation of
// that language) does the matching. It supports exact values, prefix,
// anything-but, exists and equals-ignore-case; numeric, suffix, wildcard
// and cidr patterns are refused when the stack starts.
type recordFilter struct {
	q *quamina.Quamina // nil: no filter
}

func newRecordFilter(patterns []string) (*recordFilter, error) {
	if len(patterns) == 0 {
		return &recordFilter{}, nil
	}
	q, err := quamina.New()
	if err != nil {
		return nil, err
	}
	for i, p := range patterns {
		if err := q.AddPattern(i, p); err != nil {
			return nil, fmt.Errorf("filter pattern %d %s: %w", i, p, err)
		}
	}
	return &recordFilter{q: q}, nil
}

// forShard returns a filter for one goroutine: a Quamina instance may
// not be used by two at once, its copies share the compiled patterns.
func (f *recordFilter) forShard() *recordFilter {
	if f.q == nil {
		return f
	}
	return &recordFilter{q: f.q.Copy()}
}

// match reports whether a record (its Lambda JSON) passes the filter.
func (f *recordFilter) match(record []byte) (bool, error) {
	if f.q == nil {
		return true, nil
	}
	m, err := f.q.MatchesForEvent(record)
	return len(m) > 0, err
}
