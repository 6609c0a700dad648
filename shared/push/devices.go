package push

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/users"
)

// Devices holds the device use cases (PUT/GET/DELETE
// /v1/users/{user_id}/devices...).
type Devices struct {
	store     DeviceStore
	users     UserReader
	max       int
	now       func() time.Time
	log       *slog.Logger
	endpoints EndpointDeleter
	data      []UserDataStore
}

// EndpointDeleter deletes a device's SNS platform endpoint (sns.Sender).
type EndpointDeleter interface {
	DeleteEndpoint(ctx context.Context, arn string) error
}

// UserDataStore deletes what push keeps of a user besides devices: push
// settings, notifications and push claims (dynamo.Push; in memory,
// memstore.Push and memstore.Broadcasts). It returns how many items went.
type UserDataStore interface {
	DeleteUserData(ctx context.Context, userID string) (int, error)
}

// WithEndpoints makes Delete and ForgetUser delete the devices' SNS
// endpoints through e.
func (s *Devices) WithEndpoints(e EndpointDeleter) *Devices {
	s.endpoints = e
	return s
}

// WithUserData makes ForgetUser also delete the user's settings,
// notifications and claims from each of d.
func (s *Devices) WithUserData(d ...UserDataStore) *Devices {
	s.data = append(s.data, d...)
	return s
}

// dropEndpoint deletes a removed device's SNS endpoint; a failure is
// logged (the device is gone; the endpoint is an orphan SNS keeps).
func (s *Devices) dropEndpoint(ctx context.Context, d Device) {
	if s.endpoints == nil || d.EndpointARN == "" {
		return
	}
	if err := s.endpoints.DeleteEndpoint(ctx, d.EndpointARN); err != nil {
		s.log.WarnContext(ctx, "push: delete SNS endpoint failed", "user_id", d.UserID, "device_id", d.DeviceID, "err", err.Error())
	}
}

// UserReader finds users (users.Store is one).
type UserReader interface {
	GetUser(ctx context.Context, id string) (users.User, error)
}

// NewDevices builds the use cases; now nil is time.Now.
func NewDevices(s DeviceStore, u UserReader, log *slog.Logger, now func() time.Time) *Devices {
	if now == nil {
		now = time.Now
	}
	return &Devices{store: s, users: u, max: MaxDevicesPerUser, now: now, log: log}
}

// access checks that p may manage userID's devices and settings. A user
// token is the user (the authorizer checked it exists); an admin naming a
// user that does not exist gets not_found rather than orphan devices.
func access(ctx context.Context, u UserReader, p auth.Principal, userID string) error {
	if err := users.ValidateID("user_id", userID); err != nil {
		return err
	}
	if err := p.SelfOrAdmin(userID); err != nil {
		return err
	}
	if p.IsAdmin() {
		_, err := u.GetUser(ctx, userID)
		return err
	}
	return nil
}

// Register creates or replaces a device of userID (the user themself or
// an admin). created is false when the device id existed.
func (s *Devices) Register(ctx context.Context, p auth.Principal, userID, deviceID string, r Registration) (Device, bool, error) {
	if err := access(ctx, s.users, p, userID); err != nil {
		return Device{}, false, err
	}
	d, err := r.Validate(userID, deviceID)
	if err != nil {
		return Device{}, false, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	d.CreatedAt, d.UpdatedAt = now, now
	res, err := s.store.PutDevice(ctx, d, s.max)
	if err != nil {
		return Device{}, false, err
	}
	if t := res.TakenFrom; t != nil && t.UserID != userID {
		// Ids only: the token itself is never logged.
		s.log.InfoContext(ctx, "push token moved to another user", "from_user_id", t.UserID, "from_device_id", t.DeviceID,
			"user_id", userID, "device_id", deviceID)
	}
	return res.Device, res.Created, nil
}

// List returns a user's devices.
func (s *Devices) List(ctx context.Context, p auth.Principal, userID string) ([]Device, error) {
	if err := access(ctx, s.users, p, userID); err != nil {
		return nil, err
	}
	return s.store.ListDevices(ctx, userID)
}

// Delete removes a device (not_found if the user has no such device).
func (s *Devices) Delete(ctx context.Context, p auth.Principal, userID, deviceID string) error {
	if err := access(ctx, s.users, p, userID); err != nil {
		return err
	}
	if err := users.ValidateID("device_id", deviceID); err != nil {
		return err
	}
	d, err := s.store.DeleteDevice(ctx, userID, deviceID)
	if err != nil {
		return err
	}
	s.dropEndpoint(ctx, d)
	return nil
}

// DeviceNotFound is the error for a missing device.
func DeviceNotFound(userID, deviceID string) error {
	return apierror.New(apierror.NotFound, "User %q has no device %q.", userID, deviceID)
}

// DeviceLimitError is the error for one device too many.
func DeviceLimitError(max int) error {
	return apierror.New(apierror.DeviceLimit, "A user may register at most %d devices; delete one first.", max)
}

// ForgetUser deletes every device of a deleted user (users.Service
// OnDelete) with its SNS endpoint, so an id created again never reaches
// the old user's phones, and the user's push settings, notifications and
// push claims. Failures are logged: the user is deleted already.
func (s *Devices) ForgetUser(ctx context.Context, userID string) {
	devs, err := s.store.ListDevices(ctx, userID)
	if err != nil {
		s.log.ErrorContext(ctx, "push: list a deleted user's devices", "user_id", userID, "err", err.Error())
	}
	for _, d := range devs {
		if _, err := s.store.DeleteDevice(ctx, userID, d.DeviceID); err != nil && !apierror.Is(err, apierror.NotFound) {
			s.log.ErrorContext(ctx, "push: delete a deleted user's device", "user_id", userID, "device_id", d.DeviceID, "err", err.Error())
			continue
		}
		s.dropEndpoint(ctx, d)
	}
	items := 0
	for _, st := range s.data {
		n, err := st.DeleteUserData(ctx, userID)
		items += n
		if err != nil {
			s.log.ErrorContext(ctx, "push: delete a deleted user's settings and notifications", "user_id", userID, "err", err.Error())
		}
	}
	if len(devs) > 0 || items > 0 {
		s.log.InfoContext(ctx, "push: deleted user's push data removed", "user_id", userID, "devices", len(devs), "items", items)
	}
}
