package dynamo_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestJobsContract(t *testing.T) {
	storetest.JobsStore(t, func(t *testing.T) batch.Store { return contractDB(t).Jobs })
}
