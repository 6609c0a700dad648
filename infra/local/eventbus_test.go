package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/testenv"
)

// TestEventTap: the template's bus is created locally under the prefix,
// !Ref resolves to it, and an event put on it is listed by
// GET /_local/events; other paths and methods are not found.
func TestEventTap(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	prefix := testenv.ID("tap") + "-"
	tap, refs, err := newEventTap(ctx, env.Cfg, tmpl, prefix, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || tap == nil {
		t.Fatalf("tap %v, err %v", tap, err)
	}
	if refs["EventBus"] != prefix+"EventBus" {
		t.Fatalf("refs %v: want EventBus -> %sEventBus", refs, prefix)
	}
	id := testenv.ID("evt")
	out, err := eventbridge.NewFromConfig(env.Cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(refs["EventBus"]), Source: aws.String("tokenim"), DetailType: aws.String("user.created"),
		Detail: aws.String(`{"id":"` + id + `","type":"user.created"}`)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put: %v %+v", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec := httptest.NewRecorder()
		tap.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, eventsPath, nil))
		var body struct {
			Events []struct {
				DetailType string `json:"detail-type"`
				Detail     struct {
					ID string `json:"id"`
				} `json:"detail"`
			} `json:"events"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
		}
		found := false
		for _, e := range body.Events {
			found = found || e.Detail.ID == id && e.DetailType == "user.created"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s not listed: %s", id, rec.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, r := range []*http.Request{httptest.NewRequest(http.MethodPost, eventsPath, nil), httptest.NewRequest(http.MethodGet, eventsPath+"/x", nil)} {
		rec := httptest.NewRecorder()
		tap.ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", r.Method, r.URL.Path, rec.Code)
		}
	}
}
