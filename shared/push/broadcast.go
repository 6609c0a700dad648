package push

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

// Broadcast limits (docs/push.md, "Broadcasts").
const (
	MaxBroadcastUsers   = 1000
	MaxTitleRunes       = 100
	MaxBodyRunes        = 1000
	MaxLinkLength       = 2048
	DefaultDailyQuota   = 20 // broadcasts per day (NOTIFICATIONS_PER_DAY)
	DefaultRetentionDay = 30 // days a user's notification is kept (NOTIFICATION_RETENTION_DAYS)
	// PlanPage is the audience page one plan job reads; ChunkUsers the
	// users one chunk job delivers to (one presence BatchGetItem).
	PlanPage   = 1000
	ChunkUsers = 50
	// MaxBroadcastPayload bounds a broadcast's pushed fields together (the
	// JSON of title, body and data with link and ids, as every platform
	// carries them): APNs and FCM take at most 4 KB per payload and Web
	// Push about 3.9 KB of plaintext, and this leaves room for each
	// platform's own fields.
	MaxBroadcastPayload = 3000
)

// Audience is who a broadcast goes to: exactly one of the three.
type Audience struct {
	UserIDs []string `json:"user_ids,omitempty"`
	GroupID string   `json:"group_id,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// Counts are a broadcast's exact outcome per targeted user: each is in
// exactly one of delivered_live, pushed, no_device, suppressed (DND) and
// failed.
type Counts struct {
	Targeted      int64 `json:"targeted"`
	DeliveredLive int64 `json:"delivered_live"`
	Pushed        int64 `json:"pushed"`
	NoDevice      int64 `json:"no_device"`
	Suppressed    int64 `json:"suppressed"`
	Failed        int64 `json:"failed"`
}

// Add adds one user's outcome.
func (c *Counts) Add(outcome string) {
	c.Targeted++
	switch outcome {
	case OutcomeLive:
		c.DeliveredLive++
	case OutcomePushed:
		c.Pushed++
	case OutcomeNoDevice:
		c.NoDevice++
	case OutcomeSuppressed:
		c.Suppressed++
	default:
		c.Failed++
	}
}

// Per-user outcomes.
const (
	OutcomeLive       = "live"
	OutcomePushed     = "pushed"
	OutcomeNoDevice   = "no_device"
	OutcomeSuppressed = "suppressed"
	OutcomeFailed     = "failed"
)

// Broadcast is an admin notification job.
type Broadcast struct {
	ID        string            `json:"notification_id"`
	Title     string            `json:"title"`
	Body      string            `json:"body"`
	Data      map[string]string `json:"data,omitempty"`
	Link      string            `json:"link,omitempty"`
	Audience  Audience          `json:"audience"`
	CreatedAt time.Time         `json:"created_at"`
	// Progress: the plan is done when Planned; the job when every planned
	// chunk is counted.
	Planned     bool   `json:"-"`
	ChunksTotal int64  `json:"-"`
	ChunksDone  int64  `json:"-"`
	Counts      Counts `json:"counts"`
	State       string `json:"state"` // StateRunning or StateDone (computed)
}

// Broadcast states.
const (
	StateRunning = "running"
	StateDone    = "done"
)

// WithState sets State from the progress.
func (b Broadcast) WithState() Broadcast {
	b.State = StateRunning
	if b.Planned && b.ChunksDone >= b.ChunksTotal {
		b.State = StateDone
	}
	return b
}

// InboxItem is a broadcast as one user's notification list shows it.
type InboxItem struct {
	UserID    string            `json:"-"`
	ID        string            `json:"notification_id"`
	Title     string            `json:"title"`
	Body      string            `json:"body"`
	Data      map[string]string `json:"data,omitempty"`
	Link      string            `json:"link,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	// Read says whether the user marked it read, and ReadAt when.
	Read    bool       `json:"read"`
	ReadAt  *time.Time `json:"read_at,omitempty"`
	Outcome string     `json:"-"` // "" until the user's delivery is done
}

// NewBroadcastID is time-ordered (a user's notifications list newest
// first by it) and unique: the creation time in ms, then random hex.
func NewBroadcastID(now time.Time) string {
	b := make([]byte, 5)
	rand.Read(b)
	return fmt.Sprintf("%013d-%s", now.UnixMilli(), hex.EncodeToString(b))
}

var broadcastID = regexp.MustCompile(`^[0-9]{13}-[0-9a-f]{10}$`)

// ValidateBroadcastID checks a path id.
func ValidateBroadcastID(id string) error {
	if !broadcastID.MatchString(id) {
		return apierror.New(apierror.InvalidID, "notification_id is not a notification id.").WithDetails(map[string]string{"field": "notification_id"})
	}
	return nil
}

// Validate checks a broadcast as submitted.
func (b *Broadcast) Validate() error {
	field := func(f, format string, args ...any) error {
		return apierror.New(apierror.ValidationFailed, format, args...).WithDetails(map[string]string{"field": f})
	}
	if b.Title == "" || utf8.RuneCountInString(b.Title) > MaxTitleRunes || !utf8.ValidString(b.Title) {
		return field("title", "title must be 1-%d characters.", MaxTitleRunes)
	}
	if b.Body == "" || utf8.RuneCountInString(b.Body) > MaxBodyRunes || !utf8.ValidString(b.Body) {
		return field("body", "body must be 1-%d characters.", MaxBodyRunes)
	}
	if err := users.ValidateMetadata(b.Data); err != nil {
		return field("data", "data is at most %d string keys of at most %d characters, values of at most %d.", users.MaxMetadataKeys, users.MaxMetadataKeyRunes, users.MaxMetadataValueRunes)
	}
	if b.Link != "" && (len(b.Link) > MaxLinkLength || strings.ContainsAny(b.Link, " \t\r\n") || !strings.Contains(b.Link, ":")) {
		return field("link", "link must be a URL (https:// or an app scheme) of at most %d characters.", MaxLinkLength)
	}
	a := b.Audience
	n := 0
	if len(a.UserIDs) > 0 {
		n++
	}
	if a.GroupID != "" {
		n++
	}
	if a.All {
		n++
	}
	if n != 1 {
		return field("audience", "audience must give exactly one of user_ids, group_id, all.")
	}
	if len(a.UserIDs) > MaxBroadcastUsers {
		return apierror.New(apierror.TooManyRecipients, "audience.user_ids holds at most %d ids per call.", MaxBroadcastUsers).
			WithDetails(map[string]string{"field": "audience.user_ids"})
	}
	seen := map[string]bool{}
	ids := a.UserIDs[:0:0]
	for _, id := range a.UserIDs {
		if err := users.ValidateID("audience.user_ids", id); err != nil {
			return err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	b.Audience.UserIDs = ids
	if a.GroupID != "" {
		if err := users.ValidateID("audience.group_id", a.GroupID); err != nil {
			return err
		}
	}
	if n := PayloadSize(*b); n > MaxBroadcastPayload {
		return apierror.New(apierror.NotificationTooLarge, "title, body, link and data together take %d bytes in a push; at most %d.", n, MaxBroadcastPayload).
			WithDetails(map[string]string{"field": "data", "bytes": strconv.Itoa(n), "max_bytes": strconv.Itoa(MaxBroadcastPayload)})
	}
	return nil
}

// PayloadSize is how many bytes a broadcast's shown fields take in a
// push: the JSON of its alert's title, body and data (link, type and
// notification id included).
func PayloadSize(b Broadcast) int {
	if b.ID == "" {
		b.ID = NewBroadcastID(time.Time{})
	}
	a := broadcastAlert(b)
	out, _ := json.Marshal(struct {
		Title string            `json:"title"`
		Body  string            `json:"body"`
		Data  map[string]string `json:"data"`
	}{a.Title, a.Body, a.Data})
	return len(out)
}

// QuotaError is the error for a day's broadcasts used up.
func QuotaError(max int) error {
	return apierror.New(apierror.QuotaExceeded, "The daily quota of %d broadcasts is used up; retry tomorrow (UTC).", max)
}
