package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestConnectionsContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.ConnectionsStore(t, func(t *testing.T) storetest.Connections {
		db := contractDB(t)
		return storetest.Connections{Store: db.Connections, AddMembers: func(t *testing.T, gid string, uids ...string) {
			t.Helper()
			now := time.Now().UTC()
			members := make([]chat.Member, len(uids))
			for i, u := range uids {
				members[i] = chat.Member{GroupID: gid, UserID: u, Role: chat.RoleMember, JoinedAt: now}
			}
			members[0].Role = chat.RoleOwner
			if _, err := db.Groups.CreateGroup(context.Background(), chat.Group{GroupID: gid, OwnerID: uids[0], ConversationID: chat.GroupConversationID(gid), CreatedAt: now, UpdatedAt: now}, members); err != nil {
				t.Fatal(err)
			}
		}}
	})
}
