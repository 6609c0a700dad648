package bench

import (
	"fmt"
	"sort"

	"github.com/tokenim/tokenim/shared/testenv"
)

func sortStrings(s []string) { sort.Strings(s) }

// Workload is the reference month.
type Workload struct {
	MAU            int     `json:"mau"`
	MessagesPerDay int     `json:"messages_per_user_per_day"`
	HoursPerDay    float64 `json:"hours_connected_per_day"`
	GroupShare     float64 `json:"share_of_messages_to_groups"`
	GroupSize      int     `json:"group_size"`
	Days           int     `json:"days"`
	ConnectsPerDay int     `json:"connects_per_user_per_day"`
	SyncsPerDay    int     `json:"syncs_per_user_per_day"`
	// OnlineShare is the share of recipients' devices online when a
	// message is sent; 0 means as measured (a DM's recipient online, half
	// of a group). 1 h connected a day gives 1/24 if messages fall at
	// random times, more if people chat while connected together.
	OnlineShare float64 `json:"online_share,omitempty"`
}

// ReferenceWorkload: 10,000 MAU, 50 messages a day each, one hour
// connected a day, 20 % of messages to groups of 50; a 30-day month in
// which each user connects (and syncs what they missed) once a day.
var ReferenceWorkload = Workload{MAU: 10_000, MessagesPerDay: 50, HoursPerDay: 1, GroupShare: 0.2, GroupSize: 50, Days: 30,
	ConnectsPerDay: 1, SyncsPerDay: 1}

// Hosted is a hosted plan's published monthly price for 10,000 MAU
// (../shared/REFERENCE.md, "Hosted plans").
type Hosted struct {
	Name string  `json:"name"`
	USD  float64 `json:"usd_per_month"`
	Note string  `json:"note"`
}

// HostedPlans are the REFERENCE.md figures the bill is set beside.
var HostedPlans = []Hosted{
	{"Sendbird Starter", 399, "about $399 a month for 5,000 MAU (third-party transcription): 10,000 MAU costs at least this"},
	{"ZEGOCLOUD In-app Chat Pro", 449, "$449 a month per 10,000 MAU"},
	{"Stream Chat", 499, "a 10,000-MAU plan reported near $499 a month (unverified)"},
}

// BillLine is one line of the monthly bill.
type BillLine struct {
	Item  string  `json:"item"`
	Count float64 `json:"count"`
	USD   float64 `json:"usd"`
	From  string  `json:"from"`
}

// Bill is the reference workload's month.
type Bill struct {
	Workload Workload   `json:"workload"`
	Lines    []BillLine `json:"lines"`
	TotalUSD float64    `json:"total_usd"`
	Hosted   []Hosted   `json:"hosted"`
	Cheapest Hosted     `json:"cheapest"`
	Ratio    float64    `json:"ratio_to_cheapest"`
}

// MonthlyBill prices w from the per-operation costs ($ per million) of a
// DM, a group message to w.GroupSize members, a connect plus disconnect
// and a sync; connection minutes are billed at their list price.
//
// With w.OnlineShare set, each message's deliveries (its WebSocket
// messages other than the frame in and the ack) are scaled from the
// measured share online to w.OnlineShare.
func MonthlyBill(w Workload, dm, group, connect, sync OpCost) Bill {
	msgs := float64(w.MAU * w.MessagesPerDay * w.Days)
	b := Bill{Workload: w, Hosted: HostedPlans}
	add := func(item string, count, usdPerMillion float64, from string) {
		b.Lines = append(b.Lines, BillLine{Item: item, Count: count, USD: count * usdPerMillion / 1e6, From: from})
	}
	add("direct messages", msgs*(1-w.GroupShare), w.delivered(dm, 1), dm.Name)
	add(fmt.Sprintf("group messages (%d members)", w.GroupSize), msgs*w.GroupShare, w.delivered(group, 0.5), group.Name)
	connects := float64(w.MAU * w.ConnectsPerDay * w.Days)
	add("connects + disconnects", connects, connect.USDPerMillion, connect.Name)
	add("syncs after reconnecting", float64(w.MAU*w.SyncsPerDay*w.Days), sync.USDPerMillion, sync.Name)
	minutes := float64(w.MAU*w.Days) * w.HoursPerDay * 60
	add("WebSocket connection-minutes", minutes, testenv.Usage{WebSocketConnMinutes: 1}.PerMillion(), "list price")
	for _, l := range b.Lines {
		b.TotalUSD += l.USD
	}
	b.Cheapest = w.cheapest()
	b.Ratio = b.TotalUSD / b.Cheapest.USD
	return b
}

// delivered is c's $ per million with its deliveries scaled from the
// measured share online to w.OnlineShare.
func (w Workload) delivered(c OpCost, measuredShare float64) float64 {
	if w.OnlineShare == 0 {
		return c.USDPerMillion
	}
	deliveries := max(c.WSMessages-2, 0) // not the frame in nor the ack
	return c.USDPerMillion + deliveries*(w.OnlineShare/measuredShare-1)*testenv.PriceWebSocketMessage*1e6
}

func (w Workload) cheapest() Hosted {
	c := HostedPlans[0]
	for _, h := range HostedPlans[1:] {
		if h.USD < c.USD {
			c = h
		}
	}
	return c
}

func (b *Bill) markdown(p func(string, ...any)) {
	w := b.Workload
	p("")
	p("## Monthly bill of the reference workload%s", map[bool]string{true: ", recipients mostly offline", false: ""}[w.OnlineShare > 0])
	p("")
	online := "recipients online as measured (a DM's recipient with 2 devices, half of a group)"
	if w.OnlineShare > 0 {
		online = fmt.Sprintf("%.1f %% of recipients' devices online when a message is sent (deliveries scaled from the measured figures)", 100*w.OnlineShare)
	}
	p("%d monthly active users, %d messages each a day, %.0f h connected a day, %.0f %% of messages to groups of %d, %d days; each user connects (and syncs) %d time(s) a day; %s. Every line is a count times a per-operation figure above.",
		w.MAU, w.MessagesPerDay, w.HoursPerDay, w.GroupShare*100, w.GroupSize, w.Days, w.ConnectsPerDay, online)
	p("")
	p("| item | count a month | $ | priced as |")
	p("| --- | ---: | ---: | --- |")
	for _, l := range b.Lines {
		p("| %s | %.0f | %.2f | %s |", l.Item, l.Count, l.USD, l.From)
	}
	p("| **total** | | **%.2f** | |", b.TotalUSD)
	p("")
	p("Hosted plans for 10,000 MAU (../shared/REFERENCE.md):")
	p("")
	p("| plan | $ a month | TokenIM as a share |")
	p("| --- | ---: | ---: |")
	for _, h := range b.Hosted {
		p("| %s (%s) | %.0f | %.1f %% |", h.Name, h.Note, h.USD, 100*b.TotalUSD/h.USD)
	}
	p("")
	p("Not in the bill: DynamoDB storage and Cognito (neither priced in REFERENCE.md), CloudWatch logs, the SQS event sources' idle long polls (a fixed few cents a month per queue), data transfer.")
}
