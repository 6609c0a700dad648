package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenim/tokenim/infra/local"
)

// rest calls the REST API, retrying what overload answers (429, 5xx, no
// answer) up to 10 times; ok lists statuses that count as success besides 2xx.
func rest(ctx context.Context, c *local.Client, method, path string, body, out any, ok ...int) error {
	_, err := restStatus(ctx, c, method, path, body, out, ok...)
	return err
}

// restStatus is rest that also returns the final status.
func restStatus(ctx context.Context, c *local.Client, method, path string, body, out any, ok ...int) (int, error) {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var status int
		status, err = c.Do(ctx, method, path, body, out)
		if err == nil {
			return status, nil
		}
		for _, s := range ok {
			if status == s {
				return status, nil
			}
		}
		if status != 0 && status != http.StatusTooManyRequests && status < 500 {
			return status, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 5)) * time.Second):
		}
	}
	return 0, err
}

// parallel runs f(0..n-1) on `workers` goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// setUp creates the plan's users (with tokens) and groups through the
// REST API, as an admin would.
func setUp(ctx context.Context, admin *local.Client, p *plan, groups map[string][]string) error {
	err := parallel(len(p.users), 12, func(i int) error {
		u := p.users[i]
		if err := rest(ctx, admin, "POST", "/v1/users", map[string]string{"user_id": u.id}, nil, http.StatusConflict); err != nil {
			return err
		}
		var issued struct {
			AccessToken string `json:"access_token"`
		}
		if err := rest(ctx, admin, "POST", "/v1/users/"+u.id+"/tokens", map[string]int{"ttl_seconds": 6 * 3600}, &issued); err != nil {
			return err
		}
		if issued.AccessToken == "" {
			return fmt.Errorf("no token for %s", u.id)
		}
		u.token = issued.AccessToken
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(groups))
	for g := range groups {
		ids = append(ids, g)
	}
	return parallel(len(ids), 8, func(i int) error {
		ms := groups[ids[i]]
		body := map[string]any{"group_id": ids[i], "owner_id": ms[0], "members": ms[1:], "name": "load " + ids[i]}
		return rest(ctx, admin, "POST", "/v1/groups", body, nil, http.StatusConflict)
	})
}

// history reads every stored message of a conversation (history with
// after=0 reads the messages themselves, whatever the head says); found is
// false when it answers not_found (a conversation with no head yet).
func history(ctx context.Context, c *local.Client, conv string) (msgs []wireMessage, found bool, err error) {
	var all []wireMessage
	cursor := ""
	for page := 0; page < 1000; page++ {
		q := url.Values{"after": {"0"}, "limit": {"100"}}
		if cursor != "" {
			q = url.Values{"limit": {"100"}, "cursor": {cursor}}
		}
		var res struct {
			Messages   []wireMessage `json:"messages"`
			NextCursor string        `json:"next_cursor"`
		}
		status, err := restStatus(ctx, c, "GET", "/v1/conversations/"+url.PathEscape(conv)+"/messages?"+q.Encode(), nil, &res, http.StatusNotFound)
		if err != nil {
			return nil, false, err
		}
		if status == http.StatusNotFound {
			return nil, false, nil
		}
		all = append(all, res.Messages...)
		if res.NextCursor == "" {
			return all, true, nil
		}
		cursor = res.NextCursor
	}
	return all, true, fmt.Errorf("history of %s: too many pages", conv)
}

// headOf is the conversation's last_seq (what sync and the list read).
func headOf(ctx context.Context, c *local.Client, conv string) (int64, error) {
	var res struct {
		LastSeq int64 `json:"last_seq"`
	}
	err := rest(ctx, c, "GET", "/v1/conversations/"+url.PathEscape(conv), nil, &res, http.StatusNotFound)
	return res.LastSeq, err
}
