package users

import (
	"context"
	"time"

	"github.com/tokenim/tokenim/shared/idempotency"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
)

// UpsertWrite is one create-or-update as the store performs it.
type UpsertWrite struct {
	UserID string
	Patch  Patch
	Now    time.Time
	// Gen becomes the user's generation if this write creates the user.
	Gen int64
	// IdemKey, if set, makes the write conditional on it not being the
	// last key applied to this user; Fingerprint is stored beside it.
	IdemKey, Fingerprint string
}

// Upserted is what UpsertUser did.
type Upserted struct {
	User User
	// Created: this write created the user; on a replay, the write being
	// replayed did.
	Created bool
	// Replayed: IdemKey was the last key applied to the user, so nothing
	// was written; Fingerprint is that earlier call's.
	Replayed    bool
	Fingerprint string
}

// UpsertResult is the outcome of Service.Upsert.
type UpsertResult struct {
	User     User
	Created  bool // 201 rather than 200
	Replayed bool // Idempotent-Replayed: nothing was written
}

// Upsert creates the user if absent and otherwise updates the profile
// fields the patch sets (nil fields keep their value, "" clears). It is
// what a sign-up backend calls on every attempt: concurrent and repeated
// calls leave exactly one user. It costs one UpdateItem either way.
//
// With an idempotency key, a retry of the latest call for this user writes
// nothing and returns the user as it is now (so it cannot undo a later
// PATCH); the same key with another body is idempotency_key_reused. Keys
// are scoped to the user id and only the latest one is remembered.
func (s *Service) Upsert(ctx context.Context, p auth.Principal, id string, patch Patch, idemKey string) (UpsertResult, error) {
	if err := p.Admin(); err != nil {
		return UpsertResult{}, err
	}
	if err := ValidateID("user_id", id); err != nil {
		return UpsertResult{}, err
	}
	if err := patch.profile().Validate(); err != nil {
		return UpsertResult{}, err
	}
	w := UpsertWrite{UserID: id, Patch: patch, Now: s.now().UTC().Truncate(time.Millisecond), Gen: NewGen(), IdemKey: idemKey}
	if idemKey != "" {
		if err := idempotency.ValidateKey(idemKey); err != nil {
			return UpsertResult{}, err
		}
		w.Fingerprint = idempotency.Fingerprint(struct {
			ID    string
			Patch Patch
		}{id, patch})
	}
	out, err := s.store.UpsertUser(ctx, w)
	if err != nil {
		return UpsertResult{}, err
	}
	if out.Replayed && out.Fingerprint != w.Fingerprint {
		return UpsertResult{}, apierror.New(apierror.IdempotencyKeyReused, "This Idempotency-Key was used with a different request.")
	}
	return UpsertResult{User: out.User, Created: out.Created, Replayed: out.Replayed}, nil
}

// profile gives the fields a patch sets, for validation.
func (p Patch) profile() Profile {
	var pr Profile
	if p.Nickname != nil {
		pr.Nickname = *p.Nickname
	}
	if p.AvatarURL != nil {
		pr.AvatarURL = *p.AvatarURL
	}
	if p.Metadata != nil {
		pr.Metadata = *p.Metadata
	}
	return pr
}

// Ensure creates the user unless it exists. Sign-up flows call it on
// every delivery of a sign-up event, so in.Source must name the external
// identity. An existing user with the same Source is a repeated delivery
// and is returned with created=false; one with another Source (or made
// over REST) is user_exists, so a second identity that maps onto the same
// id cannot take over the account. One PutItem (1 WCU) either way.
func (s *Service) Ensure(ctx context.Context, in CreateInput) (User, bool, error) {
	if in.Source == "" {
		return User{}, false, apierror.New(apierror.ValidationFailed, "A sign-up needs the identity it comes from.")
	}
	if err := ValidateID("user_id", in.UserID); err != nil {
		return User{}, false, err
	}
	if err := in.Profile.Validate(); err != nil {
		return User{}, false, err
	}
	u := s.newUser(in, "")
	old, err := s.store.PutUserIfAbsent(ctx, u)
	if apierror.Is(err, apierror.UserExists) && old != nil && old.Source == in.Source {
		return *old, old.Gen == u.Gen, nil // a repeat, or our own write seen by an SDK retry
	}
	if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}
