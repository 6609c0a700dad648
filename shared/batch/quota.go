package batch

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// The per-deployment limits a submit reserves: valid rows per UTC day
// and jobs active at once (Config).

// reserve takes the job's rows from the day's quota and a concurrency
// slot; release gives both back if the submit fails before queueing.
func (s *Service) reserve(ctx context.Context, jobID string, rows int, now time.Time) (release func(), err error) {
	day := now.UTC().Format(time.DateOnly)
	if rows > s.cfg.MaxRowsPerDay {
		return nil, apierror.New(apierror.QuotaExceeded, "A job may create at most %d rows per day (UTC); this one has %d valid rows.", s.cfg.MaxRowsPerDay, rows)
	}
	var ok bool
	err = s.backoff.Do(ctx, func() (err error) {
		ok, err = s.store.ReserveRows(ctx, day, rows, s.cfg.MaxRowsPerDay, now.Add(48*time.Hour))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("batch: reserve rows: %w", err)
	}
	if !ok {
		return nil, apierror.New(apierror.QuotaExceeded, "This job's %d rows would pass the limit of %d rows per day (UTC); retry tomorrow or split the file.", rows, s.cfg.MaxRowsPerDay)
	}
	bg := context.WithoutCancel(ctx)
	refund := func() {
		if err := s.store.ReleaseRows(bg, day, rows); err != nil {
			s.log.ErrorContext(ctx, "refund rows", "err", err.Error())
		}
	}
	got, err := s.acquire(ctx, jobID, now)
	if err != nil || !got {
		refund()
		if err != nil {
			return nil, err
		}
		return nil, apierror.New(apierror.QuotaExceeded, "At most %d jobs may be queued or running at once; retry when one finishes.", s.cfg.MaxActiveJobs)
	}
	return func() {
		if err := s.store.ReleaseSlot(bg, jobID); err != nil {
			s.log.ErrorContext(ctx, "release slot", "err", err.Error())
		}
		refund()
	}, nil
}

// acquire takes a slot; if all are taken it reclaims those of finished or
// stalled jobs and tries once more.
func (s *Service) acquire(ctx context.Context, jobID string, now time.Time) (bool, error) {
	for attempt := 0; ; attempt++ {
		var ok bool
		var holders map[string]time.Time
		err := s.backoff.Do(ctx, func() (err error) {
			ok, holders, err = s.store.AcquireSlot(ctx, jobID, s.cfg.MaxActiveJobs, now)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("batch: acquire slot: %w", err)
		}
		if ok || attempt > 0 {
			return ok, nil
		}
		freed, err := s.reclaim(ctx, holders, now)
		if err != nil || !freed {
			return false, err
		}
	}
}

func (s *Service) reclaim(ctx context.Context, holders map[string]time.Time, now time.Time) (bool, error) {
	freed := false
	for id, since := range holders {
		if now.Sub(since) < SlotGrace {
			continue
		}
		j, err := s.store.GetJob(ctx, id)
		if err != nil && !apierror.Is(err, apierror.NotFound) {
			return false, fmt.Errorf("batch: reclaim slot: %w", err)
		}
		last := j.CreatedAt
		if j.UpdatedAt.After(last) {
			last = j.UpdatedAt
		}
		if err == nil && !j.Finished() && now.Sub(last) < StallAfter {
			continue
		}
		if err := s.store.ReleaseSlot(ctx, id); err != nil {
			return false, fmt.Errorf("batch: reclaim slot: %w", err)
		}
		s.log.WarnContext(ctx, "reclaimed job slot", "job_id", id)
		freed = true
	}
	return freed, nil
}
