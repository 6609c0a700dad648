package pushtest

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/testenv"
)

// Store is every push store port over one backend.
type Store interface {
	push.DeviceStore
	push.PrefStore
	push.BroadcastStore
}

// memory is the memory backend's push stores, as one value.
type memory struct {
	*memstore.Push
	*memstore.Broadcasts
}

// NewStore returns fresh push stores on env's backend: the memory fakes,
// or the DynamoDB adapter over the provisioned users table.
func NewStore(env *testenv.Env) Store {
	if env.Memory != nil {
		return memory{memstore.NewPush(), memstore.NewBroadcasts()}
	}
	return dynamo.NewPush(dynamodb.NewFromConfig(env.Cfg), env.Tables)
}

// UserData is s's push.UserDataStore parts: the memory backend keeps
// settings and notifications in two stores.
func UserData(s Store) []push.UserDataStore {
	if m, ok := s.(memory); ok {
		return []push.UserDataStore{m.Push, m.Broadcasts}
	}
	return []push.UserDataStore{s.(push.UserDataStore)}
}
