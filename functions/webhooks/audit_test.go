package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/webhooks"
	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

// TestEveryWebhookChangeAudited: each change leaves exactly one entry
// with the caller, the action and the endpoint; a refused request leaves
// none; no secret ever enters the log.
func TestEveryWebhookChangeAudited(t *testing.T) {
	recv := webhookstest.NewReceiver(t, http.StatusGone)
	f := newFixture(t, webhooks.Policy{AllowLoopback: true})
	n := 0
	var secrets []string
	step := func(name string, r testenv.Reply, action, target string) {
		t.Helper()
		got := f.log.Entries()[n:]
		n = len(f.log.Entries())
		if r.Status >= 300 {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		if s, _ := r.JSON["secret"].(string); s != "" {
			secrets = append(secrets, s)
		}
		if len(got) != 1 || got[0].Action != action || got[0].Actor != "credential:tk_hooks" || got[0].Target != target || got[0].RequestID == "" {
			t.Fatalf("%s: want one %s on %s, got %+v", name, action, target, got)
		}
	}
	r := f.call(t, "POST", "/v1/webhooks", nil, `{"url":"`+recv.URL+`"}`)
	id := r.JSON["id"].(string)
	p := map[string]string{"webhook_id": id}
	step("create", r, "webhook.create", "webhook:"+id)
	step("update", f.call(t, "PATCH", "/v1/webhooks/{webhook_id}", p, `{"description":"crm"}`), "webhook.update", "webhook:"+id)
	step("rotate", f.call(t, "POST", "/v1/webhooks/{webhook_id}/rotate", p, ""), "webhook.rotate", "webhook:"+id)
	ev := webhookstest.Event(t, "c1", 1, time.Now())
	if err := f.w.Process(ctx, webhookstest.BusMessage(t, ev)); err != nil { // 410: dead
		t.Fatal(err)
	}
	dp := map[string]string{"webhook_id": id, "delivery_id": webhooks.DeliveryID(ev)}
	step("retry", f.call(t, "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", dp, ""), "webhook.retry", "webhook:"+id)
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	step("replay", f.call(t, "POST", "/v1/webhooks/{webhook_id}/replay", p, `{"from":"`+from+`","to":"`+to+`"}`), "webhook.replay", "webhook:"+id)
	if r := f.call(t, "POST", "/v1/webhooks", nil, `{"url":"ftp://x"}`); r.Status != 400 || len(f.log.Entries()) != n {
		t.Fatalf("a refused create: %d, %d entries (want %d)", r.Status, len(f.log.Entries()), n)
	}
	step("delete", f.call(t, "DELETE", "/v1/webhooks/{webhook_id}", p, ""), "webhook.delete", "webhook:"+id)
	all, _ := json.Marshal(f.log.Entries())
	for _, s := range secrets {
		if strings.Contains(string(all), strings.TrimPrefix(s, "whsec_")) {
			t.Fatalf("a secret is in the audit log: %s", all)
		}
	}
	if len(secrets) != 2 {
		t.Fatalf("%d secrets shown, want 2 (create, rotate)", len(secrets))
	}
}
