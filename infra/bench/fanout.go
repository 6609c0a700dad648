package bench

import (
	"fmt"
	"strings"
)

// Fanout compares the AWS sample's broadcast (simple-websockets-chat-app:
// Scan every connection, PostToConnection to each) with TokenIM's group
// fan-out, on the same connected users.
type Fanout struct {
	Connected    int         `json:"connected_users"`
	GroupMembers int         `json:"group_members"`
	Sample       FanoutSide  `json:"aws_sample"`
	TokenIM      FanoutSide  `json:"tokenim"`
	ReadRatio    float64     `json:"read_units_tokenim_over_sample"`
	TimeRatio    float64     `json:"wall_time_tokenim_over_sample"`
	ReadsBy      []ReadShare `json:"tokenim_reads_by_request"`
}

// FanoutSide is one algorithm's figures per message.
type FanoutSide struct {
	ReadUnits   float64        `json:"read_units"`
	Posts       int            `json:"posts"`
	Requests    map[string]int `json:"aws_requests"`
	WallMs      float64        `json:"wall_ms"`
	USDPerMsg   float64        `json:"usd_per_million_messages"`
	Description string         `json:"how"`
}

// ReadShare is the read units of one kind of request.
type ReadShare struct {
	Request   string  `json:"request"`
	ReadUnits float64 `json:"read_units"`
}

func (f *Fanout) markdown(p func(string, ...any)) {
	p("")
	p("## Fan-out against the AWS sample")
	p("")
	p("%d connected users (one connection each) and a %d-member group, all members connected. Both sides run against the emulator and the same fake management API (127.0.0.1), 32 posts at a time; read units are billed from item sizes as in the cost model. Wall time is this machine's (emulator and fake gateway): compare the ratio, not the milliseconds.", f.Connected, f.GroupMembers)
	p("")
	p("| | read units per message | posts | wall ms per message | $ per million messages | how |")
	p("| --- | ---: | ---: | ---: | ---: | --- |")
	for _, s := range []struct {
		name string
		side FanoutSide
	}{{"AWS sample", f.Sample}, {"TokenIM", f.TokenIM}} {
		p("| %s | %.1f | %d | %.0f | %.2f | %s |", s.name, s.side.ReadUnits, s.side.Posts, s.side.WallMs, s.side.USDPerMsg, s.side.Description)
	}
	p("| TokenIM ÷ sample | %.2f× | %.2f× | %.2f× | %.2f× | |", f.ReadRatio, float64(f.TokenIM.Posts)/float64(max(f.Sample.Posts, 1)), f.TimeRatio, f.TokenIM.USDPerMsg/f.Sample.USDPerMsg)
	p("")
	var parts []string
	for _, r := range f.ReadsBy {
		parts = append(parts, fmt.Sprintf("%s %.1f", r.Request, r.ReadUnits))
	}
	joined := strings.Join(parts, ", ")
	p("TokenIM's read units by request: %s. The sample's Scan rounds the total it read to 4 KB once per 1 MB page; TokenIM's presence reads are BatchGetItem, where every key (member item and presence item of each member) is rounded up to 4 KB on its own, so a 100-byte item costs as much as a 4 KB one.", joined)
}
