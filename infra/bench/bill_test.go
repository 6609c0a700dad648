package bench

import (
	"math"
	"testing"
)

// TestMonthlyBill: the bill is counts times per-operation prices, and an
// online share scales only the deliveries (not the frame in nor the ack).
func TestMonthlyBill(t *testing.T) {
	dm := OpCost{Name: "dm", USDPerMillion: 6, WSMessages: 4}     // 2 deliveries
	group := OpCost{Name: "g", USDPerMillion: 30, WSMessages: 27} // 25 deliveries at half online
	connect := OpCost{Name: "c", USDPerMillion: 3}
	sync := OpCost{Name: "s", USDPerMillion: 7}
	w := Workload{MAU: 1000, MessagesPerDay: 10, HoursPerDay: 1, GroupShare: 0.5, GroupSize: 50, Days: 10, ConnectsPerDay: 1, SyncsPerDay: 1}
	// 100,000 messages: 50,000 DMs, 50,000 group; 10,000 connects and
	// syncs; 600,000 connection-minutes.
	measured := 50_000*6e-6 + 50_000*30e-6 + 10_000*3e-6 + 10_000*7e-6 + 600_000*0.25e-6
	all := w
	all.OnlineShare = 1 // every device online: DM as measured, group deliveries doubled
	for _, tc := range []struct {
		name string
		w    Workload
		want float64
	}{
		{"as measured", w, measured},
		{"everyone online", all, measured + 50_000*25e-6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := MonthlyBill(tc.w, dm, group, connect, sync)
			if math.Abs(b.TotalUSD-tc.want) > 1e-9 {
				t.Errorf("TotalUSD = %v, want %v", b.TotalUSD, tc.want)
			}
			if b.Cheapest.USD != 399 || math.Abs(b.Ratio-b.TotalUSD/399) > 1e-12 {
				t.Errorf("cheapest %+v ratio %v", b.Cheapest, b.Ratio)
			}
		})
	}
}
