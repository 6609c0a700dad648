package testenv

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/moderation"
)

// memModeration keeps one memory moderation store per Env, so that every
// handler of a test sees the same bans, blocks and reports.
var memModeration sync.Map // *Env -> *memstore.Moderation

// Moderation returns the backend's moderation store (issue 17): over the
// memory world's users, or the DynamoDB adapter over the provisioned
// tables.
func (e *Env) Moderation() moderation.Store {
	if e.Memory != nil {
		s, _ := memModeration.LoadOrStore(e, memstore.NewModeration(e.Memory.Users))
		return s.(*memstore.Moderation)
	}
	return dynamo.NewModeration(dynamodb.NewFromConfig(e.Cfg), e.Tables)
}
