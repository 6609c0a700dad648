package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tokenim/tokenim/shared/events"
)

type fakeAPI struct {
	in     *eventbridge.PutEventsInput
	refuse map[int]bool
}

func (f *fakeAPI) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.in = in
	out := &eventbridge.PutEventsOutput{}
	for i := range in.Entries {
		if f.refuse[i] {
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String(fmt.Sprint(i))})
	}
	return out, nil
}

// TestPut: each event is one entry on the bus (source tokenim,
// detail-type its type, detail its envelope); refused entries are
// reported by position; more than 10 is refused before any call.
func TestPut(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	evs := []events.Event{{ID: "evt_a", Type: events.MessageCreated, Version: 1, Time: at, Data: json.RawMessage(`{"seq":1}`)},
		{ID: "evt_b", Type: events.UserCreated, Version: 1, Time: at, Data: json.RawMessage(`{}`)}}
	f := &fakeAPI{refuse: map[int]bool{1: true}}
	refused, err := (&Bus{API: f, Name: "tokenim-events"}).Put(context.Background(), evs)
	if err != nil || len(refused) != 2 || refused[0] != nil || refused[1] == nil {
		t.Fatalf("refused %v, err %v: want the second only", refused, err)
	}
	e := f.in.Entries[0]
	var detail events.Event
	if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &detail); err != nil || detail.ID != "evt_a" || string(detail.Data) != `{"seq":1}` {
		t.Fatalf("detail %s: %v", aws.ToString(e.Detail), err)
	}
	if aws.ToString(e.Source) != "tokenim" || aws.ToString(e.DetailType) != "message.created" || aws.ToString(e.EventBusName) != "tokenim-events" || !e.Time.Equal(at) {
		t.Fatalf("entry %+v", e)
	}
	if _, err := (&Bus{API: f}).Put(context.Background(), make([]events.Event, events.MaxBatch+1)); err == nil {
		t.Fatal("11 entries accepted")
	}
}
