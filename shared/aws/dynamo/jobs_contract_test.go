package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/storetest"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestJobsContract(t *testing.T) {
	testenv.NeedAWS(t) // the memory twin runs in shared/memstore
	storetest.JobsStore(t, func(t *testing.T) batch.Store { return contractDB(t).Jobs })
}
