package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Job is a batch job as GET /v1/jobs/{id} and the submit reply give it.
type Job struct {
	JobID           string     `json:"job_id"`
	Kind            string     `json:"kind"`
	State           string     `json:"state"`
	Total           int        `json:"total"`
	Created         int        `json:"created"`
	Failed          int        `json:"failed"`
	Pending         int        `json:"pending"`
	Invalid         int        `json:"invalid"`
	Errors          []RowError `json:"errors"`
	ErrorsTruncated bool       `json:"errors_truncated"`
}

// finished: no row is pending any more.
func (j Job) finished() bool {
	switch j.State {
	case "succeeded", "partially_failed", "failed", "validated":
		return true
	}
	return false
}

// RowError is one failed row.
type RowError struct {
	Row     int    `json:"row"`
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// tracked is a job being watched, with where its rows sit in the file
// (offset: the file row of the job's row 1, minus 1).
type tracked struct {
	job    Job
	offset int
	part   *part
}

// watcher polls jobs and draws one progress bar over all of them.
type watcher struct {
	c        *Client
	interval time.Duration
	bar      *progressbar.ProgressBar // nil: --no-progress
}

func newWatcher(c *Client, total int, stderr io.Writer, show bool, interval time.Duration) *watcher {
	w := &watcher{c: c, interval: interval}
	if show {
		w.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("rows"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
	}
	return w
}

// draw shows rows done (created + failed) of total, with the counters.
func (w *watcher) draw(jobs []*tracked) {
	if w.bar == nil {
		return
	}
	var created, failed int
	for _, t := range jobs {
		created += t.job.Created
		failed += t.job.Failed
	}
	done, desc := int64(created+failed), fmt.Sprintf("created %d, failed %d", created, failed)
	if done >= w.bar.GetMax64() {
		// The last step draws the final line and ends it: describe first.
		w.bar.Describe(desc)
		w.bar.Set64(done)
		return
	}
	// Count first, then the counters: each draws the line.
	w.bar.Set64(done)
	w.bar.Describe(desc)
}

func (w *watcher) finish() {
	if w.bar != nil && !w.bar.IsFinished() {
		w.bar.Finish()
	}
}

// stop leaves the bar where it is (Ctrl-C) on its own line.
func (w *watcher) stop(stderr io.Writer) {
	if w.bar != nil {
		w.bar.Exit()
		fmt.Fprintln(stderr)
	}
}

// poll refreshes every unfinished job once.
func (w *watcher) poll(ctx context.Context, jobs []*tracked) error {
	for _, t := range jobs {
		if t.job.JobID == "" || t.job.finished() {
			continue
		}
		var j Job
		if _, err := w.c.Do(ctx, Request{Method: "GET", Path: "/v1/jobs/" + url.PathEscape(t.job.JobID)}, &j); err != nil {
			return err
		}
		t.job = j
	}
	w.draw(jobs)
	return nil
}

// wait polls until every job has finished or ctx ends.
func (w *watcher) wait(ctx context.Context, jobs []*tracked) error {
	for {
		if err := w.poll(ctx, jobs); err != nil {
			return err
		}
		if allFinished(jobs) {
			return nil
		}
		if err := sleep(ctx, w.interval); err != nil {
			return err
		}
	}
}

func allFinished(jobs []*tracked) bool {
	for _, t := range jobs {
		if !t.job.finished() {
			return false
		}
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// submit sends one part as a job. The Idempotency-Key is derived from the
// part's bytes, so re-running an interrupted import finds the jobs it
// already submitted (for 24 hours) instead of creating them again. While
// the deployment's active-job quota is full, it waits for the jobs already
// running to move on, drawing the bar, and tries again.
func (w *watcher) submit(ctx context.Context, kind string, format string, p *part, dryRun bool, running []*tracked) (Job, error) {
	path := "/v1/jobs/" + kind
	hdr := map[string]string{}
	if dryRun {
		path += "?dry_run=true"
	} else {
		sum := sha256.Sum256(append([]byte(kind+"\x00"), p.body...))
		hdr["Idempotency-Key"] = "tokenim-cli-" + hex.EncodeToString(sum[:16])
	}
	ctype := "text/csv"
	if format == "json" {
		ctype = "application/json"
	}
	for {
		var j Job
		_, err := w.c.Do(ctx, Request{Method: "POST", Path: path, Body: p.body, ContentType: ctype, Header: hdr}, &j)
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests && ae.Code == "quota_exceeded" && !allFinished(running) {
			if err := sleep(ctx, w.interval); err != nil {
				return j, err
			}
			if err := w.poll(ctx, running); err != nil {
				return j, err
			}
			continue
		}
		return j, err
	}
}

// failedRows fetches every failed row of a job (JSON pages of 1,000).
func failedRows(ctx context.Context, c *Client, jobID string) ([]RowError, error) {
	var all []RowError
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Errors     []RowError `json:"errors"`
			NextCursor string     `json:"next_cursor"`
		}
		if _, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/jobs/" + url.PathEscape(jobID) + "/errors?" + q.Encode()}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Errors...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// writeFailed writes the failed rows as CSV: row, id, code, message, then
// (when the source is known) the row's original columns, so the file can
// be fixed and imported again as it is (readCSV drops the first four
// columns). Rows are numbered as in the original file.
func writeFailed(path string, src *source, jobs []*tracked, errs map[*tracked][]RowError) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(f)
	header := append([]string{}, failedCols...)
	if src != nil {
		if src.format == "json" {
			header = append(header, "json")
		} else {
			header = append(header, src.header...)
		}
	}
	w.Write(header)
	n := 0
	for _, t := range jobs {
		for _, e := range errs[t] {
			rec := []string{fmt.Sprint(e.Row + t.offset), e.ID, e.Code, e.Message}
			if src != nil {
				if i := t.offset + e.Row - 1; i >= 0 && i < len(src.rows) {
					rec = append(rec, src.rows[i]...)
				}
			}
			w.Write(rec)
			n++
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}

// summary is the final count over all jobs.
type summary struct {
	Jobs    []string `json:"jobs"`
	Total   int      `json:"total"`
	Created int      `json:"created"`
	Failed  int      `json:"failed"`
	Invalid int      `json:"invalid"`
	Pending int      `json:"pending"`
	// FailedRows is the failed-rows file, if one was written.
	FailedRows string  `json:"failed_rows,omitempty"`
	Seconds    float64 `json:"seconds"`
	DryRun     bool    `json:"dry_run,omitempty"`
	// reimport: the failed-rows file carries the original CSV columns.
	reimport bool
}

func summarize(jobs []*tracked, start time.Time) summary {
	s := summary{Jobs: []string{}, Seconds: time.Since(start).Round(10 * time.Millisecond).Seconds()}
	for _, t := range jobs {
		if t.job.JobID != "" {
			s.Jobs = append(s.Jobs, t.job.JobID)
		}
		s.Total += t.job.Total
		s.Created += t.job.Created
		s.Failed += t.job.Failed
		s.Invalid += t.job.Invalid
		s.Pending += t.job.Pending
	}
	return s
}

func (s summary) print(p printer) error {
	if p.json {
		return p.raw(s)
	}
	rate := 0.0
	if s.Seconds > 0 {
		rate = float64(s.Created+s.Failed) / s.Seconds
	}
	verb := "created"
	if s.DryRun {
		verb = "valid"
		s.Created = s.Total - s.Invalid
	}
	fmt.Fprintf(p.w, "%d rows: %d %s, %d failed (%d invalid), %d pending, in %.1f s (%.0f rows/s)\n",
		s.Total, s.Created, verb, s.Failed, s.Invalid, s.Pending, s.Seconds, rate)
	for _, id := range s.Jobs {
		fmt.Fprintf(p.w, "job %s\n", id)
	}
	switch {
	case s.FailedRows != "" && s.reimport:
		fmt.Fprintf(p.w, "failed rows: %s (fix them and run tokenim import again with this file)\n", s.FailedRows)
	case s.FailedRows != "":
		fmt.Fprintf(p.w, "failed rows: %s\n", s.FailedRows)
	}
	return nil
}
