package memstore_test

import (
	"testing"

	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/memstore"
	"github.com/tokenim/tokenim/shared/storetest"
)

func TestJobsContract(t *testing.T) {
	storetest.JobsStore(t, func(*testing.T) batch.Store { return memstore.NewJobs(memstore.NewUsers(nil)) })
}
