package push

import (
	"context"
	"time"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// Settings holds the preference use cases (GET/PUT
// /v1/users/{user_id}/push-settings and .../conversations/{id}).
type Settings struct {
	store PrefStore
	users UserReader
	now   func() time.Time
}

// NewSettings builds the use cases; now nil is time.Now.
func NewSettings(s PrefStore, u UserReader, now func() time.Time) *Settings {
	if now == nil {
		now = time.Now
	}
	return &Settings{store: s, users: u, now: now}
}

// Get returns a user's preferences.
func (s *Settings) Get(ctx context.Context, p auth.Principal, userID string) (Prefs, error) {
	if err := access(ctx, s.users, p, userID); err != nil {
		return Prefs{}, err
	}
	prefs, _, err := s.store.GetPrefs(ctx, userID, nil)
	return prefs, err
}

// Put replaces a user's preferences.
func (s *Settings) Put(ctx context.Context, p auth.Principal, userID string, prefs Prefs) (Prefs, error) {
	if err := access(ctx, s.users, p, userID); err != nil {
		return Prefs{}, err
	}
	if err := prefs.Validate(); err != nil {
		return Prefs{}, err
	}
	return prefs, s.store.PutPrefs(ctx, userID, prefs)
}

// GetConversation returns a user's level for one conversation (all when
// unset or expired).
func (s *Settings) GetConversation(ctx context.Context, p auth.Principal, userID, convID string) (ConvPref, error) {
	convID, err := s.convAccess(ctx, p, userID, convID)
	if err != nil {
		return ConvPref{}, err
	}
	_, conv, err := s.store.GetPrefs(ctx, userID, []string{convID})
	if err != nil {
		return ConvPref{}, err
	}
	c, ok := conv[convID]
	if !ok || c.Effective(s.now()) == LevelAll && c.Level != LevelAll {
		return ConvPref{Level: LevelAll}, nil
	}
	return c, nil
}

// PutConversation sets a user's level for one conversation. The
// conversation need not exist yet (a user may mute a group before its
// first message); its id must be well formed.
func (s *Settings) PutConversation(ctx context.Context, p auth.Principal, userID, convID string, c ConvPref) (ConvPref, error) {
	convID, err := s.convAccess(ctx, p, userID, convID)
	if err != nil {
		return ConvPref{}, err
	}
	if err := c.Validate(s.now()); err != nil {
		return ConvPref{}, err
	}
	if c.Until != nil {
		u := c.Until.UTC().Truncate(time.Millisecond)
		c.Until = &u
	}
	return c, s.store.PutConvPref(ctx, userID, convID, c)
}

// convAccess checks access and returns the conversation's canonical id.
func (s *Settings) convAccess(ctx context.Context, p auth.Principal, userID, convID string) (string, error) {
	if err := access(ctx, s.users, p, userID); err != nil {
		return "", err
	}
	ref, err := chat.ParseConversationID(convID)
	return string(ref.ID), err
}
