package dynamo_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestPushContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.PushStore(t, func(t *testing.T) storetest.Push {
		e := testenv.Get(t)
		return dynamo.NewPush(dynamodb.NewFromConfig(e.Cfg), e.Tables)
	})
}

func TestBroadcastsContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.BroadcastStore(t, func(t *testing.T) push.BroadcastStore {
		e := testenv.Get(t)
		return dynamo.NewPush(dynamodb.NewFromConfig(e.Cfg), e.Tables)
	})
}
