package users

import (
	"context"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/cursor"
	"github.com/tokenim/tokenim/shared/idempotency"
)

// Store is what the use cases need from storage.
type Store interface {
	// PutUserIfAbsent writes u unless the id exists; it then returns the
	// existing user and a UserExists error.
	PutUserIfAbsent(ctx context.Context, u User) (*User, error)
	GetUser(ctx context.Context, id string) (User, error)
	UpdateProfile(ctx context.Context, id string, patch Patch, now time.Time) (User, error)
	DeleteUser(ctx context.Context, id string) (User, error)
	// ListUsers returns up to limit users from page (nil: the first) and
	// the adapter's opaque token for the next page (nil: none).
	ListUsers(ctx context.Context, limit int, page []byte) ([]User, []byte, error)
	// UpsertUser creates or updates a user in one conditional write.
	UpsertUser(ctx context.Context, w UpsertWrite) (Upserted, error)
	// ClaimIdempotencyKey records key -> fingerprint unless key exists; it
	// then returns the existing fingerprint.
	ClaimIdempotencyKey(ctx context.Context, scope, key, fingerprint string, ttl time.Duration) (existing string, err error)
}

// Patch is a partial profile update. Nil means "leave as is"; a pointer to
// "" (or an empty map) clears the field.
type Patch struct {
	Nickname  *string
	AvatarURL *string
	Metadata  *map[string]string
}

// OnDelete is called after a user is deleted (e.g. to close their sockets).
type OnDelete func(ctx context.Context, userID string)

// Service holds the user use cases.
type Service struct {
	store    Store
	cursors  *cursor.Codec
	now      func() time.Time
	onDelete []OnDelete
}

// NewService builds the service.
func NewService(s Store, c *cursor.Codec, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, cursors: c, now: now}
}

// OnDelete registers a hook run after a successful delete.
func (s *Service) OnDelete(f OnDelete) { s.onDelete = append(s.onDelete, f) }

// CreateInput is a new user.
type CreateInput struct {
	UserID string
	Profile
	Source string // sign-up flows only; see User.Source
}

// Create creates a user (admins only). With an idempotency key, a retry with
// the same key and body returns the first result (created=false) instead of
// user_exists; the same key with another body is idempotency_key_reused.
func (s *Service) Create(ctx context.Context, p auth.Principal, in CreateInput, idemKey string) (User, bool, error) {
	if err := p.Admin(); err != nil {
		return User{}, false, err
	}
	if err := in.Validate(); err != nil {
		return User{}, false, err
	}
	if idemKey != "" {
		if err := idempotency.ValidateKey(idemKey); err != nil {
			return User{}, false, err
		}
		fp := idempotency.Fingerprint(in)
		existing, err := s.store.ClaimIdempotencyKey(ctx, "users.create", idemKey, fp, idempotency.TTL)
		if err != nil {
			return User{}, false, err
		}
		if existing != "" && existing != fp {
			return User{}, false, apierror.New(apierror.IdempotencyKeyReused, "This Idempotency-Key was used with a different request.")
		}
	}
	u := s.newUser(in, idemKey)
	old, err := s.store.PutUserIfAbsent(ctx, u)
	if apierror.Is(err, apierror.UserExists) && old != nil {
		switch {
		case old.Gen == u.Gen:
			// Our own write: the SDK retried a PutItem whose first response
			// was lost, and the retry found the item the first attempt made.
			return u, true, nil
		case idemKey != "" && old.IdempotencyKey == idemKey:
			return *old, false, nil // a retry of the call that created it
		}
	}
	if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}

// newUser is a user about to be created by this service (in is valid).
func (s *Service) newUser(in CreateInput, idemKey string) User {
	u := New(in, s.now())
	u.IdempotencyKey = idemKey
	return u
}

// Validate applies the rules every new user meets, however it is created
// (REST, sign-up, batch import): a valid id and a valid profile.
func (in CreateInput) Validate() error {
	if err := ValidateID("user_id", in.UserID); err != nil {
		return err
	}
	return in.Profile.Validate()
}

// New is the one constructor of a user about to be created, from a valid
// input: a fresh generation (so tokens of an earlier user of the same id
// stay dead), now in whole milliseconds, UTC, as both timestamps. Every
// path that creates users (this service, batch import) builds them here.
func New(in CreateInput, now time.Time) User {
	now = now.UTC().Truncate(time.Millisecond)
	return User{UserID: in.UserID, Nickname: in.Nickname, AvatarURL: in.AvatarURL, Metadata: in.Metadata,
		CreatedAt: now, UpdatedAt: now, Gen: NewGen(), Source: in.Source}
}

// Get returns a user: admins any, users only themselves.
func (s *Service) Get(ctx context.Context, p auth.Principal, id string) (User, error) {
	if err := ValidateID("user_id", id); err != nil {
		return User{}, err
	}
	if err := p.SelfOrAdmin(id); err != nil {
		return User{}, err
	}
	return s.store.GetUser(ctx, id)
}

// Update changes mutable profile fields.
func (s *Service) Update(ctx context.Context, p auth.Principal, id string, patch Patch) (User, error) {
	if err := ValidateID("user_id", id); err != nil {
		return User{}, err
	}
	if err := p.SelfOrAdmin(id); err != nil {
		return User{}, err
	}
	if err := patch.profile().Validate(); err != nil {
		return User{}, err
	}
	if patch.Nickname == nil && patch.AvatarURL == nil && patch.Metadata == nil {
		return s.store.GetUser(ctx, id)
	}
	return s.store.UpdateProfile(ctx, id, patch, s.now().UTC().Truncate(time.Millisecond))
}

// Delete removes a user; their tokens stop working at once (the authorizer
// checks the user still exists with the token's generation).
func (s *Service) Delete(ctx context.Context, p auth.Principal, id string) error {
	if err := ValidateID("user_id", id); err != nil {
		return err
	}
	if err := p.SelfOrAdmin(id); err != nil {
		return err
	}
	if _, err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	for _, f := range s.onDelete {
		f(ctx, id)
	}
	return nil
}

// MaxPageSize bounds list pages.
const MaxPageSize = 100

// Page is one page of users.
type Page struct {
	Users      []User `json:"users"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// listCursor is the state of a user listing: the store's page token.
type listCursor struct {
	Page []byte `json:"p"`
}

// List pages through all users (admins only).
func (s *Service) List(ctx context.Context, p auth.Principal, limit int, token string) (Page, error) {
	if err := p.Admin(); err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxPageSize)
	}
	var start listCursor
	if err := s.cursors.Decode("users", token, &start); err != nil {
		return Page{}, err
	}
	list, next, err := s.store.ListUsers(ctx, limit, start.Page)
	if err != nil {
		return Page{}, err
	}
	if list == nil {
		list = []User{}
	}
	out := Page{Users: list}
	if len(next) > 0 {
		if out.NextCursor, err = s.cursors.Encode("users", listCursor{Page: next}); err != nil {
			return Page{}, err
		}
	}
	return out, nil
}
