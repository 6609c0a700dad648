package push

import (
	"fmt"
	"regexp"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
)

// Prefs are a user's push preferences (docs/push.md, "Preferences").
type Prefs struct {
	// Preview off sends "New message" without sender or text.
	Preview bool `json:"preview"`
	// DND, when set, silences pushes between Start and End (HH:MM, the
	// user's local time in TimeZone; Start > End spans midnight).
	DND *DND `json:"dnd,omitempty"`
}

// DefaultPrefs are a user's preferences until they set any.
func DefaultPrefs() Prefs { return Prefs{Preview: true} }

// DND is a daily do-not-disturb window.
type DND struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"time_zone"`
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Validate checks the preferences.
func (p Prefs) Validate() error {
	if p.DND == nil {
		return nil
	}
	for field, v := range map[string]string{"dnd.start": p.DND.Start, "dnd.end": p.DND.End} {
		if !hhmm.MatchString(v) {
			return prefErr(field, "%s must be a time of day HH:MM (00:00-23:59).", field)
		}
	}
	if p.DND.Start == p.DND.End {
		return prefErr("dnd.end", "dnd.end must differ from dnd.start (remove dnd to turn it off).")
	}
	if _, err := loadZone(p.DND.TimeZone); err != nil {
		return prefErr("dnd.time_zone", "dnd.time_zone must be an IANA time zone such as Europe/Paris.")
	}
	return nil
}

func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("push: empty time zone")
	}
	return time.LoadLocation(name)
}

// Quiet reports whether t falls in the do-not-disturb window.
func (p Prefs) Quiet(t time.Time) bool {
	if p.DND == nil {
		return false
	}
	loc, err := loadZone(p.DND.TimeZone)
	if err != nil {
		return false // validated on write; a zone removed from tzdata since pushes as usual
	}
	now := t.In(loc).Format("15:04")
	if p.DND.Start < p.DND.End {
		return now >= p.DND.Start && now < p.DND.End
	}
	return now >= p.DND.Start || now < p.DND.End // spans midnight
}

// Level is how much of one conversation a user is pushed.
type Level string

// Levels. LevelMentions pushes a group message only when it mentions the
// user (by id or @all), and every DM message (Job.Mentioned).
const (
	LevelAll      Level = "all"
	LevelMentions Level = "mentions"
	LevelNone     Level = "none"
)

// ConvPref is a user's setting for one conversation.
type ConvPref struct {
	Level Level `json:"level"`
	// Until, when set, ends the setting: after it the level is all again.
	Until *time.Time `json:"until,omitempty"`
}

// Validate checks a conversation setting written at now.
func (c ConvPref) Validate(now time.Time) error {
	switch c.Level {
	case LevelAll, LevelMentions, LevelNone:
	default:
		return prefErr("level", "level must be one of all, mentions, none.")
	}
	if c.Until != nil && !c.Until.After(now) {
		return prefErr("until", "until must be in the future.")
	}
	return nil
}

// Effective is the level in force at t.
func (c ConvPref) Effective(t time.Time) Level {
	if c.Level == "" || (c.Until != nil && !t.Before(*c.Until)) {
		return LevelAll
	}
	return c.Level
}

func prefErr(field, format string, args ...any) error {
	return apierror.New(apierror.ValidationFailed, format, args...).WithDetails(map[string]string{"field": field})
}
