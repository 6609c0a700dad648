package testenv

import (
	"math"
	"testing"
)

// TestUsageUSD: a million of each unit costs its list price (REFERENCE
// figures, US East), so a field billed at another field's price fails.
func TestUsageUSD(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    Usage
		want float64 // USD per million
	}{
		{"read units", Usage{ReadUnits: 1}, 0.125},
		{"write units", Usage{WriteUnits: 1}, 0.625},
		{"SQS requests", Usage{SQSRequests: 1}, 0.40},
		{"Lambda invocations", Usage{LambdaInvocations: 1}, 0.20},
		{"Lambda arm64 GB-seconds", Usage{LambdaGBSeconds: 1}, 13.3334},
		{"WebSocket messages", Usage{WebSocketMessages: 1}, 1.00},
		{"sum", Usage{ReadUnits: 2, WriteUnits: 1, SQSRequests: 1}, 2*0.125 + 0.625 + 0.40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.u.PerMillion(); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("PerMillion() = %v, want %v", got, tc.want)
			}
		})
	}
}
