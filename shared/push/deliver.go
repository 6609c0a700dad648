package push

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
)

// ClaimTTL is how long a sent push is remembered: a job redelivered
// within it never pushes a device twice (SQS keeps PushQueue's messages
// for an hour; the DLQ redrive is manual and may be later).
const ClaimTTL = 48 * time.Hour

// NoPreview is the body of a push with preview off.
const NoPreview = "New message"

// Deliverer runs push jobs (the push worker): per recipient, their
// devices, preferences and badge; per device, one claim and one push.
type Deliverer struct {
	devices  DeviceStore
	prefs    PrefStore
	unread   Unread
	senders  map[Platform]Sender
	log      *slog.Logger
	now      func() time.Time
	parallel int
}

// NewDeliverer builds the worker's use case. senders maps each platform
// that is set up to its sender; a device of another platform is skipped
// (and logged). now nil is time.Now.
func NewDeliverer(d DeviceStore, p PrefStore, u Unread, senders map[Platform]Sender, log *slog.Logger, now func() time.Time) *Deliverer {
	if now == nil {
		now = time.Now
	}
	return &Deliverer{devices: d, prefs: p, unread: u, senders: senders, log: log, now: now, parallel: 10}
}

// Outcome counts what one job did, per device push.
type Outcome struct {
	Pushed, Duplicate, Removed, Failed int
	// Skipped counts recipients: no device, DND, muted conversation.
	NoDevice, Quiet, Muted int
}

// Process pushes a job to its recipients. An error (a store read failed,
// or a push failed in a way that may succeed later) makes the worker
// report the record failed: SQS redelivers it, and the devices already
// pushed are skipped by their claims.
func (d *Deliverer) Process(ctx context.Context, j Job) (Outcome, error) {
	if (j.Kind != JobMessage && j.Kind != JobChange) || j.ConversationID == "" || j.Seq <= 0 {
		return Outcome{}, fmt.Errorf("push: malformed %q job", j.Kind)
	}
	var mu sync.Mutex
	var total Outcome
	var errs []error
	sem := make(chan struct{}, d.parallel)
	var wg sync.WaitGroup
	for _, u := range uniqUsers(j.Users, j.Sender) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out, err := d.user(ctx, j, u)
			mu.Lock()
			defer mu.Unlock()
			total.add(out)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

func (o *Outcome) add(p Outcome) {
	o.Pushed += p.Pushed
	o.Duplicate += p.Duplicate
	o.Removed += p.Removed
	o.Failed += p.Failed
	o.NoDevice += p.NoDevice
	o.Quiet += p.Quiet
	o.Muted += p.Muted
}

func uniqUsers(users []string, sender string) []string {
	seen := map[string]bool{sender: true, "": true}
	var out []string
	for _, u := range users {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// user pushes the job's message to one recipient's devices. For an edit
// or a recall it pushes only the devices that got the message's push, with
// the same collapse id, so the notification shown is replaced (APNs and
// FCM replace, Web Push's Topic replaces one still queued; a notification
// cannot be withdrawn silently on every platform, so a recall shows
// "Message recalled").
func (d *Deliverer) user(ctx context.Context, j Job, user string) (Outcome, error) {
	key := j.ConversationID + "#" + strconv.FormatInt(j.Seq, 10)
	alert := func(p Prefs) Alert { return AlertOf(j, p) }
	if j.Kind != JobChange {
		return d.pushUser(ctx, user, j.ConversationID, j.Mentioned(user), key, alert, nil)
	}
	pushed := func(dev Device) (bool, error) { return d.prefs.Pushed(ctx, user, key+"#"+dev.DeviceID) }
	return d.pushUser(ctx, user, "", false, key+"#"+j.Change+strconv.FormatInt(j.EventSeq, 10), alert, pushed)
}

// Mentioned reports whether a message job is for user at the mentions
// level: a DM (every message of a DM is addressed to its one reader), or
// a group message mentioning user by id or @all.
func (j Job) Mentioned(user string) bool {
	return j.GroupID == "" || slices.Contains(j.Mentions, user) || slices.Contains(j.Mentions, chat.MentionAll)
}

// Recalled is the body that replaces a recalled message's notification.
const Recalled = "Message recalled"

// PushUser pushes one alert to a user's devices, each at most once per
// key: none if the user has no device, is in their DND window, or (conv
// != "") muted the conversation. alert builds the alert for the user's
// preferences; the badge is added here.
func (d *Deliverer) PushUser(ctx context.Context, user, conv, key string, alert func(Prefs) Alert) (Outcome, error) {
	return d.pushUser(ctx, user, conv, false, key, alert, nil)
}

// pushUser is PushUser; mentioned says the push reaches a user whose
// conversation level is mentions; only, when set, picks the devices.
func (d *Deliverer) pushUser(ctx context.Context, user, conv string, mentioned bool, key string, alert func(Prefs) Alert, only func(Device) (bool, error)) (Outcome, error) {
	devs, err := d.devices.ListDevices(ctx, user)
	if err != nil {
		return Outcome{}, err
	}
	if len(devs) == 0 {
		return Outcome{NoDevice: 1}, nil
	}
	var convs []string
	if conv != "" {
		convs = []string{conv}
	}
	prefs, levels, err := d.prefs.GetPrefs(ctx, user, convs)
	if err != nil {
		return Outcome{}, err
	}
	now := d.now()
	if conv != "" {
		switch levels[conv].Effective(now) {
		case LevelNone:
			return Outcome{Muted: 1}, nil
		case LevelMentions:
			if !mentioned {
				return Outcome{Muted: 1}, nil
			}
		}
	}
	if prefs.Quiet(now) {
		return Outcome{Quiet: 1}, nil
	}
	a := alert(prefs)
	if n, err := d.unread.TotalUnread(ctx, user); err != nil {
		d.log.WarnContext(ctx, "push: unread count failed; no badge", "user_id", user, "err", err.Error())
	} else {
		a.Badge = n
	}
	var out Outcome
	var errs []error
	for _, dev := range devs {
		if only != nil {
			if ok, err := only(dev); err != nil || !ok {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
		}
		res, err := d.device(ctx, key, dev, a)
		out.add(res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// AlertOf is what a job shows a recipient with prefs.
func AlertOf(j Job, prefs Prefs) Alert {
	a := Alert{Badge: -1, ThreadID: j.ConversationID, CollapseID: CollapseID(j.ConversationID, j.Seq),
		Data: map[string]string{"type": "message." + cmp.Or(j.Change, "created"), "conversation_id": j.ConversationID, "seq": strconv.FormatInt(j.Seq, 10), "message_id": j.MessageID}}
	if !prefs.Preview {
		a.Body = NoPreview
		if j.Change == "recalled" {
			a.Body = Recalled
		}
		return a
	}
	a.Title, a.Body = j.Sender, j.Text
	if j.GroupID != "" {
		a.Title = j.Sender + " (" + j.GroupID + ")"
	}
	if j.Change == "recalled" {
		a.Body = Recalled
	}
	if a.Body == "" {
		a.Body = NoPreview
	}
	return a
}

// CollapseID names a message's notification on every platform: 32
// characters, within APNs' 64 bytes and Web Push's 32-character Topic. A
// recall or edit pushed with the same id replaces the notification.
func CollapseID(conv string, seq int64) string {
	sum := sha256.Sum256([]byte(conv + "#" + strconv.FormatInt(seq, 10)))
	return hex.EncodeToString(sum[:16])
}

// device pushes one device once: the claim makes a redelivered job (or
// a replayed Notify's second job) skip it.
func (d *Deliverer) device(ctx context.Context, key string, dev Device, a Alert) (Outcome, error) {
	s, ok := d.senders[dev.Platform]
	if !ok {
		d.log.WarnContext(ctx, "push: platform not set up; device skipped", "platform", string(dev.Platform), "user_id", dev.UserID, "device_id", dev.DeviceID)
		return Outcome{Failed: 1}, nil
	}
	key += "#" + dev.DeviceID
	first, err := d.prefs.ClaimPush(ctx, dev.UserID, key, ClaimTTL)
	if err != nil {
		return Outcome{}, err
	}
	if !first {
		return Outcome{Duplicate: 1}, nil
	}
	sent, err := s.Send(ctx, dev, a)
	switch {
	case err == nil:
		if sent.EndpointARN != "" && sent.EndpointARN != dev.EndpointARN {
			if err := d.devices.SetEndpoint(ctx, dev.UserID, dev.DeviceID, dev.TokenHash(), sent.EndpointARN); err != nil {
				d.log.WarnContext(ctx, "push: keep endpoint failed", "user_id", dev.UserID, "device_id", dev.DeviceID, "err", err.Error())
			}
		}
		return Outcome{Pushed: 1}, nil
	case errors.Is(err, ErrDeviceGone):
		removed, rerr := d.devices.RemoveDevice(ctx, dev.UserID, dev.DeviceID, dev.TokenHash())
		if rerr != nil {
			return Outcome{Failed: 1}, rerr
		}
		d.log.InfoContext(ctx, "push: device gone, removed", "user_id", dev.UserID, "device_id", dev.DeviceID, "platform", string(dev.Platform), "removed", removed)
		return Outcome{Removed: 1}, nil
	case Retryable(err):
		// Forget the claim so the redelivered job pushes this device.
		if rerr := d.prefs.ReleasePush(ctx, dev.UserID, key); rerr != nil {
			d.log.WarnContext(ctx, "push: release claim failed; this push is lost", "user_id", dev.UserID, "device_id", dev.DeviceID, "err", rerr.Error())
		}
		return Outcome{Failed: 1}, fmt.Errorf("push %s/%s: %w", dev.UserID, dev.DeviceID, err)
	default:
		d.log.WarnContext(ctx, "push: rejected", "user_id", dev.UserID, "device_id", dev.DeviceID, "platform", string(dev.Platform), "err", err.Error())
		return Outcome{Failed: 1}, nil
	}
}
