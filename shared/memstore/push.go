package memstore

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokenim/tokenim/shared/push"
)

// Push keeps devices, token ownership, push preferences and push claims in
// memory (push.DeviceStore, push.PrefStore), as dynamo.Push keeps them in
// the users table.
type Push struct {
	mu      sync.Mutex
	devices map[string]map[string]push.Device // user -> device id -> device
	owners  map[string]push.DeviceRef         // token hash -> owner
	prefs   map[string]push.Prefs
	conv    map[string]map[string]push.ConvPref // user -> conversation -> pref
	claims  map[string]time.Time                // user + "\x00" + key -> expiry
	Now     Clock
}

var (
	_ push.DeviceStore = (*Push)(nil)
	_ push.PrefStore   = (*Push)(nil)
)

// NewPush returns an empty store.
func NewPush() *Push {
	return &Push{devices: map[string]map[string]push.Device{}, owners: map[string]push.DeviceRef{},
		prefs: map[string]push.Prefs{}, conv: map[string]map[string]push.ConvPref{}, claims: map[string]time.Time{}}
}

func copyDevice(d push.Device) push.Device {
	if d.Keys != nil {
		k := *d.Keys
		d.Keys = &k
	}
	return d
}

// PutDevice implements push.DeviceStore.
func (s *Push) PutDevice(_ context.Context, d push.Device, max int) (push.PutResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mine := s.devices[d.UserID]
	old, exists := mine[d.DeviceID]
	if !exists && len(mine) >= max {
		return push.PutResult{}, push.DeviceLimitError(max)
	}
	res := push.PutResult{Created: !exists}
	h := d.TokenHash()
	if prev, ok := s.owners[h]; ok && prev != (push.DeviceRef{UserID: d.UserID, DeviceID: d.DeviceID}) {
		if pd, ok := s.devices[prev.UserID][prev.DeviceID]; ok && pd.TokenHash() == h {
			delete(s.devices[prev.UserID], prev.DeviceID)
		}
		res.TakenFrom = &prev
	}
	if exists {
		d.CreatedAt = old.CreatedAt
		if oh := old.TokenHash(); oh != h {
			if s.owners[oh] == (push.DeviceRef{UserID: d.UserID, DeviceID: d.DeviceID}) {
				delete(s.owners, oh)
			}
		} else if d.EndpointARN == "" {
			d.EndpointARN = old.EndpointARN // the same token keeps its endpoint
		}
	}
	s.owners[h] = push.DeviceRef{UserID: d.UserID, DeviceID: d.DeviceID}
	if s.devices[d.UserID] == nil {
		s.devices[d.UserID] = map[string]push.Device{}
	}
	s.devices[d.UserID][d.DeviceID] = copyDevice(d)
	res.Device = copyDevice(d)
	return res, nil
}

// ListDevices implements push.DeviceStore.
func (s *Push) ListDevices(_ context.Context, userID string) ([]push.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.devices[userID]))
	out := make([]push.Device, 0, len(ids))
	for _, id := range ids {
		out = append(out, copyDevice(s.devices[userID][id]))
	}
	return out, nil
}

// DeleteDevice implements push.DeviceStore.
func (s *Push) DeleteDevice(_ context.Context, userID, deviceID string) (push.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[userID][deviceID]
	if !ok {
		return push.Device{}, push.DeviceNotFound(userID, deviceID)
	}
	s.deleteLocked(d)
	return d, nil
}

func (s *Push) deleteLocked(d push.Device) {
	delete(s.devices[d.UserID], d.DeviceID)
	if h := d.TokenHash(); s.owners[h] == (push.DeviceRef{UserID: d.UserID, DeviceID: d.DeviceID}) {
		delete(s.owners, h)
	}
}

// RemoveDevice implements push.DeviceStore.
func (s *Push) RemoveDevice(_ context.Context, userID, deviceID, tokenHash string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[userID][deviceID]
	if !ok || d.TokenHash() != tokenHash {
		return false, nil
	}
	s.deleteLocked(d)
	return true, nil
}

// SetEndpoint implements push.DeviceStore.
func (s *Push) SetEndpoint(_ context.Context, userID, deviceID, tokenHash, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[userID][deviceID]
	if ok && d.TokenHash() == tokenHash {
		d.EndpointARN = arn
		s.devices[userID][deviceID] = d
	}
	return nil
}

// GetPrefs implements push.PrefStore.
func (s *Push) GetPrefs(_ context.Context, userID string, convs []string) (push.Prefs, map[string]push.ConvPref, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.prefs[userID]
	if !ok {
		p = push.DefaultPrefs()
	}
	if p.DND != nil {
		d := *p.DND
		p.DND = &d
	}
	out := map[string]push.ConvPref{}
	for _, c := range convs {
		if cp, ok := s.conv[userID][c]; ok {
			out[c] = cp
		}
	}
	return p, out, nil
}

// PutPrefs implements push.PrefStore.
func (s *Push) PutPrefs(_ context.Context, userID string, p push.Prefs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.DND != nil {
		d := *p.DND
		p.DND = &d
	}
	s.prefs[userID] = p
	return nil
}

// PutConvPref implements push.PrefStore.
func (s *Push) PutConvPref(_ context.Context, userID, convID string, p push.ConvPref) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Level == push.LevelAll && p.Until == nil {
		delete(s.conv[userID], convID)
		return nil
	}
	if s.conv[userID] == nil {
		s.conv[userID] = map[string]push.ConvPref{}
	}
	s.conv[userID][convID] = p
	return nil
}

// ClaimPush implements push.PrefStore.
func (s *Push) ClaimPush(_ context.Context, userID, key string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userID + "\x00" + key
	now := s.Now.now()
	if exp, ok := s.claims[k]; ok && exp.After(now) {
		return false, nil
	}
	s.claims[k] = now.Add(ttl)
	return true, nil
}

// ReleasePush implements push.PrefStore.
func (s *Push) ReleasePush(_ context.Context, userID, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claims, userID+"\x00"+key)
	return nil
}

// Pushed implements push.PrefStore.
func (s *Push) Pushed(_ context.Context, userID, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.claims[userID+"\x00"+key]
	return ok && exp.After(s.Now.now()), nil
}

var _ push.UserDataStore = (*Push)(nil)

// DeleteUserData implements push.UserDataStore: settings and claims.
func (s *Push) DeleteUserData(_ context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.conv[userID])
	if _, ok := s.prefs[userID]; ok {
		n++
	}
	delete(s.prefs, userID)
	delete(s.conv, userID)
	for k := range s.claims {
		if strings.HasPrefix(k, userID+"\x00") {
			delete(s.claims, k)
			n++
		}
	}
	return n, nil
}
