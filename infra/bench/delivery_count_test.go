package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenim/tokenim/infra/bench/wsclient"
)

func TestCountDeliveries(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	push := func(conv string, seq int64, cmid string, ms int) wsclient.Push {
		return wsclient.Push{Conv: conv, Seq: seq, ClientMsgID: cmid, At: at(ms)}
	}
	members := map[string][]string{"dm:a:b": {"a", "b"}, "g:x": {"a", "b", "c"}}
	group := map[string]bool{"g:x": true}
	history := map[string][]Stored{
		"dm:a:b": {{Conv: "dm:a:b", Seq: 1, SenderID: "a", ClientMsgID: "m1"}},
		"g:x":    {{Conv: "g:x", Seq: 1, SenderID: "a", ClientMsgID: "m2"}, {Conv: "g:x", Seq: 2, SenderID: "b", ClientMsgID: "m3"}},
	}
	sentAt := map[string]time.Time{"m1": at(0), "m2": at(100), "m3": at(200)}
	until := at(10_000)
	tests := []struct {
		name    string
		sockets map[string]Socket
		want    DeliveryCounts
		dm, grp int // latency samples
	}{
		{"all delivered", map[string]Socket{
			"a": {Pushes: []wsclient.Push{push("g:x", 2, "m3", 250)}},
			"b": {Pushes: []wsclient.Push{push("dm:a:b", 1, "m1", 10), push("g:x", 1, "m2", 120)}},
			"c": {Pushes: []wsclient.Push{push("g:x", 1, "m2", 130), push("g:x", 2, "m3", 240)}},
		}, DeliveryCounts{Expected: 5, Delivered: 5}, 1, 4},
		{"lost, duplicated and out of order", map[string]Socket{
			"a": {Pushes: nil},
			"b": {Pushes: []wsclient.Push{push("dm:a:b", 1, "m1", 10), push("dm:a:b", 1, "m1", 11), push("g:x", 1, "m2", 120)}},
			"c": {Pushes: []wsclient.Push{push("g:x", 2, "m3", 240), push("g:x", 1, "m2", 260)}},
		}, DeliveryCounts{Expected: 5, Delivered: 4, Lost: 1, Duplicated: 1, OutOfOrder: 1, LostExamples: []string{"g:x/2 -> a"}}, 1, 3},
		{"a socket closed before the bound is not counted", map[string]Socket{
			"a": {Pushes: []wsclient.Push{push("g:x", 2, "m3", 250)}},
			"b": {Pushes: []wsclient.Push{push("dm:a:b", 1, "m1", 10), push("g:x", 1, "m2", 120)}},
			"c": {ClosedAt: at(50)},
		}, DeliveryCounts{Expected: 3, Delivered: 3, NotOnline: 2}, 1, 2},
		{"a push history does not hold", map[string]Socket{
			"a": {Pushes: []wsclient.Push{push("g:x", 2, "m3", 250), push("g:x", 3, "zz", 260)}},
			"b": {Pushes: []wsclient.Push{push("dm:a:b", 1, "m1", 10), push("g:x", 1, "m2", 120)}},
			"c": {Pushes: []wsclient.Push{push("g:x", 1, "m2", 130), push("g:x", 2, "m3", 240)}},
		}, DeliveryCounts{Expected: 5, Delivered: 5, Unstored: 1}, 1, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dm, grp := countDeliveries(deliveryInput{Members: members, Group: group, History: history, Sockets: tc.sockets, SentAt: sentAt, Until: until})
			if got.Expected != tc.want.Expected || got.Delivered != tc.want.Delivered || got.Lost != tc.want.Lost || got.Duplicated != tc.want.Duplicated ||
				got.OutOfOrder != tc.want.OutOfOrder || got.NotOnline != tc.want.NotOnline || got.Unstored != tc.want.Unstored ||
				len(got.LostExamples) != len(tc.want.LostExamples) || (len(got.LostExamples) > 0 && got.LostExamples[0] != tc.want.LostExamples[0]) {
				t.Errorf("counts = %+v, want %+v", got, tc.want)
			}
			if len(dm) != tc.dm || len(grp) != tc.grp {
				t.Errorf("latency samples: %d DM, %d group; want %d, %d", len(dm), len(grp), tc.dm, tc.grp)
			}
			if tc.dm > 0 && dm[0] != 10*time.Millisecond {
				t.Errorf("DM latency %v, want 10ms (push minus send)", dm[0])
			}
		})
	}
}

func TestDeliveryGoal(t *testing.T) {
	tests := []struct {
		name   string
		counts DeliveryCounts
		met    bool
		whyHas string
	}{
		{"all zero", DeliveryCounts{Expected: 10, Delivered: 10}, true, ""},
		{"out of order points to the ordering rule", DeliveryCounts{Expected: 10, Delivered: 10, OutOfOrder: 2}, false, "rule 3"},
		{"lost", DeliveryCounts{Expected: 10, Delivered: 9, Lost: 1}, false, "never got it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := (&Delivery{DeliveryOut: tc.counts}).goal()
			if g.Met != tc.met {
				t.Errorf("met = %v, want %v (%+v)", g.Met, tc.met, g)
			}
			if tc.whyHas != "" && !strings.Contains(g.Why, tc.whyHas) {
				t.Errorf("why %q lacks %q", g.Why, tc.whyHas)
			}
		})
	}
}
