package storetest

import (
	"sync"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// chatMotoCases are the cases moto gets wrong (see OnMoto).
func chatMotoCases() []motoCase {
	return []motoCase{
		{why: "concurrent TransactWriteItems are not isolated and a cancelled one restores a copy of the table, losing concurrent writes",
			chatCase: chatCase{"AddMembers/concurrent adds never pass the cap", func(t *testing.T, s chat.Store) {
				g := newGroup(t, s, newID("u"))
				const cap, tries = 4, 6
				var wg sync.WaitGroup
				errs := make([]error, tries)
				for i := range tries {
					wg.Go(func() {
						errs[i] = s.AddMembers(ctxOf(t), g.GroupID, []chat.Member{member(g.GroupID, newID("u"), chat.RoleMember)}, cap, chat.ReadMark{})
					})
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case apierror.Is(err, apierror.MemberLimit):
					default:
						t.Fatalf("AddMembers: %v", err)
					}
				}
				if got := getGroup(t, s, g.GroupID).MemberCount; ok != cap-1 || got != cap {
					t.Fatalf("%d adds succeeded, count %d; want %d and %d", ok, got, cap-1, cap)
				}
			}}},
		{why: "accepts an empty string as a key value",
			chatCase: chatCase{"rejected/MissingUsers with an empty id", func(t *testing.T, s chat.Store) {
				_, err := s.MissingUsers(ctxOf(t), []string{newID("u"), ""})
				wantFailure(t, err)
			}}},
		{why: "answers BETWEEN with a lower bound above the upper one with nothing",
			chatCase: chatCase{"rejected/History with lo above hi", func(t *testing.T, s chat.Store) {
				conv := newConv()
				put(t, s, msg(conv, 4, "u"))
				_, err := s.History(ctxOf(t), conv, 5, 3, true, 10)
				wantFailure(t, err)
			}}},
	}
}
