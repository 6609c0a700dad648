package main

import (
	"math/rand/v2"
	"time"
)

// The client's retry rule (docs/websocket.md, "The client's retry rule"):
// a send that gets service_unavailable or rate_limited (after
// details.retry_after_ms), API Gateway's generic frame, or no reply within
// replyTimeout (after 1 s with jitter) is sent again with the same
// client_msg_id, up to maxRetries times.
const (
	replyTimeout = 15 * time.Second
	maxRetries   = 5
	retryPause   = time.Second
)

// replyKind is what came back for one frame.
type replyKind int

const (
	replyAck     replyKind = iota // ack (or pong)
	replyError                    // an error frame with a code
	replyGeneric                  // API Gateway's {"message":"Internal server error"}
	replyNone                     // nothing within replyTimeout (client side)
	replyDropped                  // the client's own socket went down first
)

func (k replyKind) String() string {
	return [...]string{"ack", "error", "generic", "timeout", "dropped"}[k]
}

// retryable codes: the frame may not have been acted on; the same
// client_msg_id makes the retry safe.
var retryableCodes = map[string]bool{"service_unavailable": true, "rate_limited": true}

// nextStep decides what a client does after a reply: retry (after wait) or
// stop. retryAfterMs is the error's details.retry_after_ms (0: absent).
func nextStep(kind replyKind, code string, retryAfterMs int, attempt int) (retry bool, wait time.Duration) {
	if attempt >= maxRetries {
		return false, 0
	}
	jitter := func(d time.Duration) time.Duration { return d + rand.N(d/2+1) }
	switch kind {
	case replyError:
		if !retryableCodes[code] {
			return false, 0
		}
		if retryAfterMs > 0 {
			return true, jitter(time.Duration(retryAfterMs) * time.Millisecond)
		}
		return true, jitter(retryPause)
	case replyGeneric, replyNone:
		return true, jitter(retryPause)
	case replyDropped:
		// Not a reply: the frame's fate is unknown, so it is sent again
		// (same client_msg_id) once the socket is back.
		return true, 0
	}
	return false, 0
}
