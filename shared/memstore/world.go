package memstore

import "context"

// World is one deployment's tables in memory, wired to each other as the
// DynamoDB tables are: chat sees the users the users store holds (and
// stops seeing a deleted one), batch jobs write users into the users
// store, and connections read group members from chat. It is what the fast
// test tier (shared/testenv with no emulator) hands to use cases and
// handlers.
type World struct {
	Users       *Users
	Credentials *Credentials
	Chat        *Chat
	Jobs        *Jobs
	Connections *Connections
}

// NewWorld returns empty, wired stores.
func NewWorld() *World {
	u := NewUsers(nil)
	c := NewChat()
	c.userExists = func(id string) bool {
		_, err := u.GetUser(context.Background(), id)
		return err == nil
	}
	return &World{Users: u, Credentials: NewCredentials(), Chat: c, Jobs: NewJobs(u), Connections: NewConnections(c.MemberIDs)}
}
