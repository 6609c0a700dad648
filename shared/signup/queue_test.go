package signup_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/queue"
	"github.com/tokenim/tokenim/shared/signup"
)

type sender struct {
	sent []queue.Message
	err  error
}

func (s *sender) Send(_ context.Context, m queue.Message) error {
	s.sent = append(s.sent, m)
	return s.err
}

// TestSenderQueue: one message per request, which DecodeRequest reads back.
func TestSenderQueue(t *testing.T) {
	r := signup.Request{UserID: "u1", Nickname: "Carol", Source: "cognito:pool:sub", QueuedAt: time.Unix(1700000000, 0).UTC()}
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"sent", nil, false},
		{"send fails", errors.New("down"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &sender{err: tc.err}
			err := signup.SenderQueue{Sender: s}.Enqueue(context.Background(), r)
			if (err != nil) != tc.wantErr || len(s.sent) != 1 {
				t.Fatalf("err %v, %d sent; want error %v, 1 sent", err, len(s.sent), tc.wantErr)
			}
			back, err := signup.DecodeRequest([]byte(s.sent[0].Body))
			if err != nil || back.UserID != r.UserID || back.Nickname != r.Nickname || back.Source != r.Source || !back.QueuedAt.Equal(r.QueuedAt) {
				t.Errorf("decoded %+v, %v; want %+v", back, err, r)
			}
		})
	}
}
