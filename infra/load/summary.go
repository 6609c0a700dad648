package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// summary is the run's result: the four counts that must be 0, then the
// figures that explain them.
type summary struct {
	Command     string            `json:"command"`
	StartedAt   string            `json:"started_at"`
	Definitions map[string]string `json:"definitions"`

	Counts struct {
		FramesWithoutReply     int `json:"frames_without_reply"`
		AckedMissingHistory    int `json:"acked_missing_from_history"`
		LivePushesMissing      int `json:"live_pushes_missing_after_bound"`
		ResyncedDevicesMissing int `json:"resynced_devices_missing_messages"`
	} `json:"counts"`

	Config struct {
		Users        int     `json:"users"`
		Sockets      int     `json:"sockets"`
		Groups       int     `json:"groups"`
		Sandboxes    int     `json:"sandboxes_per_function"`
		RunSeconds   float64 `json:"send_phase_seconds"`
		OfferedRate  float64 `json:"offered_sends_per_second"`
		DropShare    float64 `json:"dropped_socket_share"`
		BoundSeconds float64 `json:"delivery_bound_seconds"`
		Emulator     string  `json:"aws_endpoint"`
	} `json:"config"`

	Sends struct {
		Sent               int64   `json:"messages_sent"`
		Acked              int64   `json:"acked"`
		AckedReplay        int     `json:"acked_created_false"`
		GaveUp             int     `json:"gave_up_after_retries"`
		Refused            int     `json:"refused"`
		Attempts           int64   `json:"frames_sent"`
		Retried            int64   `json:"retries"`
		Generic            int64   `json:"generic_frames"`
		ServiceUnavailable int64   `json:"service_unavailable"`
		RateLimited        int64   `json:"rate_limited"`
		OtherErrors        int64   `json:"other_errors"`
		NoReplyIn10s       int64   `json:"no_reply_within_timeout"`
		LateReplies        int64   `json:"replies_after_timeout"`
		DroppedFrames      int64   `json:"frames_lost_with_a_dropped_socket"`
		StoredPerSecond    float64 `json:"stored_messages_per_second"`
	} `json:"sends"`

	Delivery struct {
		Pushes       int64   `json:"pushes_received"`
		DupsDropped  int64   `json:"duplicates_dropped"`
		GapSyncs     int64   `json:"gap_syncs"`
		ConnectSyncs int64   `json:"connect_syncs"`
		SyncsFailed  int64   `json:"syncs_failed"`
		P50          float64 `json:"send_to_push_p50_s"`
		P99          float64 `json:"send_to_push_p99_s"`
		Max          float64 `json:"send_to_push_max_s"`
		AfterCheck   int     `json:"first_pushes_after_the_check"`
		Connects     int64   `json:"connects"`
		Reconnects   int64   `json:"reconnects"`
		Connect500   int64   `json:"connect_500"`
		ConnectOther int64   `json:"connect_failed_other"`
		LostByServer int64   `json:"sockets_closed_by_server"`
	} `json:"delivery"`

	Frames  frameChecks    `json:"frames"`
	Store   storeChecks    `json:"store"`
	Devices deliveryChecks `json:"devices"`
	Machine machineSummary `json:"machine"`
	Log     map[string]int `json:"stack_log"`
	Errors  []string       `json:"harness_errors,omitempty"`
}

var definitions = map[string]string{
	"frames_without_reply": "client frames (every send and sync attempt) that got no reply at all - no ack, error or generic frame - " +
		"although their socket stayed open 45 s after them (29 s integration timeout + 10 s function timeout + margin) or to the end of the run",
	"acked_missing_from_history": "acked sends whose conversation_id, seq and message_id are not in history (GET .../messages?after=0) after the run",
	"live_pushes_missing_after_bound": "per socket session, messages of the device's conversations (not its own) with created_at between the handshake and " +
		"the session's end minus the delivery bound, that the session received neither by push nor by a sync it made",
	"resynced_devices_missing_messages": "devices that dropped and reconnected (sync with since) and, at the end, do not hold every message " +
		"of their conversations stored before their last reconnect",
}

func (s *summary) ok() bool {
	c := s.Counts
	return c.FramesWithoutReply == 0 && c.AckedMissingHistory == 0 && c.LivePushesMissing == 0 && c.ResyncedDevicesMissing == 0
}

func secs(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func (s *summary) write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func (s *summary) print(w io.Writer) {
	c := s.Counts
	mark := func(n int) string {
		if n == 0 {
			return "ok"
		}
		return "FAIL"
	}
	fmt.Fprintf(w, "\n== load run: %d users, %d sockets, %d groups, %d sandboxes/function, %.0f s of sends at %.0f/s offered, %.0f %% of sockets dropped, bound %.0f s\n",
		s.Config.Users, s.Config.Sockets, s.Config.Groups, s.Config.Sandboxes, s.Config.RunSeconds, s.Config.OfferedRate, 100*s.Config.DropShare, s.Config.BoundSeconds)
	fmt.Fprintf(w, "counts (each must be 0):\n")
	fmt.Fprintf(w, "  %-4s frames without replies            %d (of %d frames; %d abandoned by a dropped socket, %d sends with no reply within 15 s to any attempt)\n",
		mark(c.FramesWithoutReply), c.FramesWithoutReply, s.Frames.Frames, s.Frames.Abandoned, s.Frames.SilentSends)
	fmt.Fprintf(w, "  %-4s acked messages missing from history %d (%d in %d conversations whose history answers not_found)\n", mark(c.AckedMissingHistory),
		c.AckedMissingHistory, s.Store.AckedInAbsentConv, s.Store.ConvsNotFound)
	fmt.Fprintf(w, "  %-4s live pushes missing after the bound %d (of %d expected: %d by push, %d filled by sync)\n", mark(c.LivePushesMissing),
		c.LivePushesMissing, s.Devices.LiveExpected, s.Devices.LiveByPush, s.Devices.LiveBySync)
	if len(s.Devices.LiveMissingByCause) > 0 {
		fmt.Fprintf(w, "       by cause: %v\n", s.Devices.LiveMissingByCause)
	}
	fmt.Fprintf(w, "  %-4s resynced devices missing messages   %d (of %d resynced; %d messages missing)\n", mark(c.ResyncedDevicesMissing),
		c.ResyncedDevicesMissing, s.Devices.ResyncedDevices, s.Devices.ResyncMissing)
	if len(s.Devices.ResyncMissingByCause) > 0 {
		fmt.Fprintf(w, "       by cause: %v\n", s.Devices.ResyncMissingByCause)
	}
	sd, d := s.Sends, s.Delivery
	fmt.Fprintf(w, "sends: %d sent, %d acked (%d created:false), %d gave up, %d refused; %d frames, %d retries\n",
		sd.Sent, sd.Acked, sd.AckedReplay, sd.GaveUp, sd.Refused, sd.Attempts, sd.Retried)
	fmt.Fprintf(w, "replies: %d generic frames, %d service_unavailable, %d rate_limited, %d other errors, %d no reply within 15 s, %d late (>15 s), %d lost with a dropped socket\n",
		sd.Generic, sd.ServiceUnavailable, sd.RateLimited, sd.OtherErrors, sd.NoReplyIn10s, sd.LateReplies, sd.DroppedFrames)
	fmt.Fprintf(w, "store: %d stored (%.1f/s), %d seq gaps, %d client_msg_ids stored twice, %d past the head after the bound, %d stored but never acked to their sender\n",
		s.Store.Stored, sd.StoredPerSecond, s.Store.Gaps, s.Store.StoredTwice, s.Store.PastHead, s.Store.StoredNotAcked)
	fmt.Fprintf(w, "delivery: %d pushes, %d duplicates dropped, %d gap syncs, %d connect syncs (%d failed); send-to-push p50 %.2f s, p99 %.2f s, max %.2f s (%d first pushes came after the check)\n",
		d.Pushes, d.DupsDropped, d.GapSyncs, d.ConnectSyncs, d.SyncsFailed, d.P50, d.P99, d.Max, d.AfterCheck)
	fmt.Fprintf(w, "sockets: %d connects, %d reconnects, %d handshakes answered 500, %d closed by the server; backstop-repaired receipts %d (max %.1f s after created_at)\n",
		d.Connects, d.Reconnects, d.Connect500, d.LostByServer, s.Devices.RepairedReceipts, s.Devices.RepairedLatencyMax)
	m := s.Machine
	fmt.Fprintf(w, "machine: %d cores, load avg (1 min) mean %.1f max %.1f, CPU busy %.0f %%, max live sandboxes %v\n",
		m.Cores, m.LoadAvg1Mean, m.LoadAvg1Max, m.CPUBusyMean, m.MaxSandboxes)
	fmt.Fprintf(w, "stack log: %v\n", s.Log)
	for _, e := range s.Errors {
		fmt.Fprintf(w, "harness: %s\n", e)
	}
}
