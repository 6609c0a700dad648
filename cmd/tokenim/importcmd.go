package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// importOpts are tokenim import's flags.
type importOpts struct {
	format     string
	dryRun     bool
	failedPath string
	noProgress bool
	interval   time.Duration
	maxBytes   int
	maxRows    int
}

func (a *app) importCommand() *cobra.Command {
	var o importOpts
	cmd := &cobra.Command{
		Use:   "import users|groups FILE",
		Short: "Create users or groups in bulk from a CSV or JSON file, with a progress bar",
		Long: `Submits FILE as batch jobs (docs/batch.md), splitting it into several jobs
when it is over one request's limit (4 MiB or 100,000 rows), and watches
them with a progress bar. Failed rows go to a CSV file (row, id, code,
message, then the row's own columns) that can be fixed and imported again
as it is. Exit status 3 if any row failed.

Ctrl-C stops watching; the jobs go on. "tokenim jobs watch ID..." resumes.
Running the same import again does not create anything twice: each job is
submitted with an Idempotency-Key derived from its rows.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runImport(cmd.Context(), args[0], args[1], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "", "csv or json (default: from the extension or the content)")
	f.BoolVar(&o.dryRun, "dry-run", false, "validate only: report the rows that would fail, create nothing")
	f.StringVar(&o.failedPath, "failed-rows", "", "where to write the failed rows (default FILE.failed.csv)")
	f.BoolVar(&o.noProgress, "no-progress", false, "no progress bar (the summary is still printed)")
	f.DurationVar(&o.interval, "interval", time.Second, "how often to poll the jobs")
	f.IntVar(&o.maxBytes, "max-bytes", maxJobBytes, "largest body per job")
	f.IntVar(&o.maxRows, "max-rows", maxJobRows, "most rows per job")
	f.MarkHidden("max-bytes")
	f.MarkHidden("max-rows")
	return cmd
}

func (a *app) runImport(ctx context.Context, kind, path string, o importOpts) error {
	if kind != "users" && kind != "groups" {
		return usageError{fmt.Errorf("import %q: use import users FILE or import groups FILE", kind)}
	}
	c, p, err := a.clientAndPrinter()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	format, err := detectFormat(o.format, path, data)
	if err != nil {
		return err
	}
	src, err := readSource(data, format, o.maxBytes, o.maxRows)
	if err != nil {
		return err
	}
	if o.failedPath == "" {
		o.failedPath = strings.TrimSuffix(path, filepath.Ext(path)) + ".failed.csv"
	}
	if len(src.parts) > 1 {
		fmt.Fprintf(a.stderr, "%s: %d rows, sent as %d jobs (one request takes at most %d bytes and %d rows)\n",
			path, len(src.rows), len(src.parts), o.maxBytes, o.maxRows)
	}
	start := time.Now()
	w := newWatcher(c, len(src.rows), a.stderr, !o.noProgress, o.interval)
	jobs := make([]*tracked, len(src.parts))
	for i := range src.parts {
		jobs[i] = &tracked{offset: src.parts[i].first, part: &src.parts[i]}
	}
	submitted := 0
	err = func() error {
		for i, t := range jobs {
			j, err := w.submit(ctx, kind, format, t.part, o.dryRun, jobs[:i])
			if err != nil {
				return err
			}
			t.job = j
			if o.dryRun {
				t.job.Failed = j.Invalid // a dry run reports; its counters are what would fail
			}
			submitted++
			w.draw(jobs)
		}
		if o.dryRun {
			return nil
		}
		return w.wait(ctx, jobs)
	}()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			w.stop(a.stderr)
			return a.interrupted(jobs, submitted, path, kind)
		}
		w.stop(a.stderr)
		return err
	}
	w.finish()
	s := summarize(jobs, start)
	s.DryRun = o.dryRun
	if s.Failed > 0 {
		errs := map[*tracked][]RowError{}
		for _, t := range jobs {
			if o.dryRun {
				errs[t] = t.job.Errors // the reply lists up to 1,000; there is no job to ask
				continue
			}
			if t.job.Failed > 0 {
				if errs[t], err = failedRows(ctx, c, t.job.JobID); err != nil {
					return err
				}
			}
		}
		if _, err := writeFailed(o.failedPath, src, jobs, errs); err != nil {
			return err
		}
		s.FailedRows, s.reimport = o.failedPath, src.format == "csv"
	}
	if err := s.print(p); err != nil {
		return err
	}
	if s.Failed > 0 {
		return &exitErr{code: exitRowsFailed}
	}
	return nil
}

// interrupted tells how to resume after Ctrl-C: the submitted jobs run on.
func (a *app) interrupted(jobs []*tracked, submitted int, path, kind string) error {
	var ids []string
	for _, t := range jobs[:submitted] {
		if t.job.JobID != "" {
			ids = append(ids, t.job.JobID)
		}
	}
	fmt.Fprintln(a.stderr, "Stopped watching; nothing was cancelled.")
	if len(ids) > 0 {
		fmt.Fprintf(a.stderr, "Resume with: tokenim jobs watch %s\n", strings.Join(ids, " "))
	}
	if submitted < len(jobs) {
		fmt.Fprintf(a.stderr, "%d of %d jobs were not submitted: run tokenim import %s %s again (jobs already submitted are recognised, not created twice).\n",
			len(jobs)-submitted, len(jobs), kind, path)
	}
	return &exitErr{code: exitInterrupted}
}

func (a *app) jobsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "Show, watch and list the failed rows of batch jobs"}
	get := &cobra.Command{Use: "get JOB_ID", Short: "Show a job's state and counters", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "GET", Path: "/v1/jobs/" + pathEscape(args[0])}, showObject(jobFields...))
		}}
	var failedPath string
	var noProgress bool
	var interval time.Duration
	watch := &cobra.Command{Use: "watch JOB_ID...", Short: "Watch jobs with a progress bar until they finish", Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.watchJobs(cmd.Context(), args, failedPath, noProgress, interval)
		}}
	watch.Flags().StringVar(&failedPath, "failed-rows", "", "write the failed rows (row, id, code, message) to this CSV file")
	watch.Flags().BoolVar(&noProgress, "no-progress", false, "no progress bar")
	watch.Flags().DurationVar(&interval, "interval", time.Second, "how often to poll")
	errorsCmd := &cobra.Command{Use: "errors JOB_ID", Short: "List a job's failed rows (all pages)", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, p, err := a.clientAndPrinter()
			if err != nil {
				return err
			}
			rows, err := failedRows(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if p.json {
				return p.raw(map[string]any{"errors": rows})
			}
			table := make([]map[string]any, len(rows))
			for i, r := range rows {
				table[i] = map[string]any{"row": fmt.Sprint(r.Row), "id": r.ID, "code": r.Code, "message": r.Message}
			}
			return p.list(nil, table, "row", "id", "code", "message")
		}}
	cmd.AddCommand(get, watch, errorsCmd)
	return cmd
}

// watchJobs resumes watching jobs (after Ctrl-C, or from another terminal).
func (a *app) watchJobs(ctx context.Context, ids []string, failedPath string, noProgress bool, interval time.Duration) error {
	c, p, err := a.clientAndPrinter()
	if err != nil {
		return err
	}
	start := time.Now()
	jobs := make([]*tracked, len(ids))
	total := 0
	for i, id := range ids {
		jobs[i] = &tracked{}
		if _, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/jobs/" + pathEscape(id)}, &jobs[i].job); err != nil {
			return err
		}
		total += jobs[i].job.Total
	}
	w := newWatcher(c, total, a.stderr, !noProgress, interval)
	if err := w.wait(ctx, jobs); err != nil {
		w.stop(a.stderr)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(a.stderr, "Stopped watching; nothing was cancelled. Resume with: tokenim jobs watch %s\n", strings.Join(ids, " "))
			return &exitErr{code: exitInterrupted}
		}
		return err
	}
	w.finish()
	s := summarize(jobs, start)
	if s.Failed > 0 && failedPath != "" {
		errs := map[*tracked][]RowError{}
		for _, t := range jobs {
			if t.job.Failed > 0 {
				if errs[t], err = failedRows(ctx, c, t.job.JobID); err != nil {
					return err
				}
			}
		}
		if _, err := writeFailed(failedPath, nil, jobs, errs); err != nil {
			return err
		}
		s.FailedRows = failedPath
	}
	if err := s.print(p); err != nil {
		return err
	}
	if s.Failed > 0 {
		return &exitErr{code: exitRowsFailed}
	}
	return nil
}
