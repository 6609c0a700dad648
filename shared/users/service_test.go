package users

import (
	"context"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/cursor"
)

// lostResponseStore simulates the SDK retrying a PutItem whose first
// attempt succeeded but whose response was lost: the retry's condition
// fails and returns the item the first attempt wrote.
type lostResponseStore struct {
	Store
	stored *User
}

func (s *lostResponseStore) PutUserIfAbsent(_ context.Context, u User) (*User, error) {
	if s.stored == nil {
		s.stored = &u // first attempt lands...
	}
	return s.stored, Exists(u.UserID) // ...and the retry sees it
}

func TestCreateSurvivesLostResponse(t *testing.T) {
	admin := auth.Principal{Kind: auth.KindAdmin, KeyID: "k"}
	st := &lostResponseStore{}
	svc := NewService(st, cursor.New([]byte("k")), func() time.Time { return time.Unix(1_800_000_000, 0) })
	u, created, err := svc.Create(context.Background(), admin, CreateInput{UserID: "alice"}, "")
	if err != nil || !created || u.UserID != "alice" {
		t.Fatalf("own write reported as %v (created=%v)", err, created)
	}
	// A genuinely existing user (another generation) is still user_exists.
	st.stored = &User{UserID: "bob", Gen: 1}
	if _, _, err := svc.Create(context.Background(), admin, CreateInput{UserID: "bob"}, ""); !apierror.Is(err, apierror.UserExists) {
		t.Fatalf("existing user: %v", err)
	}
}
