package testenv

import (
	"math"
	"testing"
)

// TestUsageUSD: a million of each unit costs its list price (REFERENCE
// figures, US East; REST requests from AWS's page), so a field billed at
// another field's price fails.
func TestUsageUSD(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    Usage
		want float64 // USD per million
	}{
		{"read units", Usage{ReadUnits: 1}, 0.125},
		{"write units", Usage{WriteUnits: 1}, 0.625},
		{"SQS requests", Usage{SQSRequests: 1}, 0.40},
		{"SQS FIFO requests", Usage{SQSFIFORequests: 1}, 0.50},
		{"Lambda invocations", Usage{LambdaInvocations: 1}, 0.20},
		{"Lambda arm64 GB-seconds", Usage{LambdaGBSeconds: 1}, 13.3334},
		{"WebSocket messages", Usage{WebSocketMessages: 1}, 1.00},
		{"sum", Usage{ReadUnits: 2, WriteUnits: 1, SQSRequests: 1}, 2*0.125 + 0.625 + 0.40},
		{"REST requests", Usage{RESTRequests: 1}, 3.50},
		{"connection minutes", Usage{WebSocketConnMinutes: 1}, 0.25},
		{"SNS push", Usage{SNSNotifications: 1}, 0.50},
		{"EventBridge", Usage{EventBridgeEvents: 1}, 1.00},
		{"S3 PUT", Usage{S3Puts: 1}, 5.00},
		{"S3 GET", Usage{S3Gets: 1}, 0.40},
		{"KMS", Usage{KMSRequests: 1}, 3.00},
		{"Add sums every field", Usage{RESTRequests: 1, WebSocketMessages: 2}.Add(Usage{WebSocketMessages: 1, S3Gets: 1}), 3.50 + 3 + 0.40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.u.PerMillion(); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("PerMillion() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMeteringSteps: units follow AWS's metering steps (write 1 KB, read
// 4 KB, SQS 64 KB, WebSocket 32 KB, Lambda whole milliseconds), eventually
// consistent reads cost half, transactions double, and nothing is billed
// under one unit.
func TestMeteringSteps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"write of 1 byte is one unit", WriteUnits(1, false), 1},
		{"write of exactly 1 KB is one unit", WriteUnits(1024, false), 1},
		{"write of 1 KB + 1 byte is two units", WriteUnits(1025, false), 2},
		{"empty write still one unit", WriteUnits(0, false), 1},
		{"transactional write doubles", WriteUnits(1025, true), 4},
		{"consistent read of 4 KB is one unit", ReadUnits(4096, true, false), 1},
		{"consistent read of 4 KB + 1 is two units", ReadUnits(4097, true, false), 2},
		{"eventual read halves", ReadUnits(4097, false, false), 1},
		{"eventual read of nothing is half a unit", ReadUnits(0, false, false), 0.5},
		{"transactional read doubles a consistent one", ReadUnits(100, false, true), 2},
		{"SQS 64 KB is one request", float64(SQSRequests(64 << 10)), 1},
		{"SQS 64 KB + 1 is two", float64(SQSRequests(64<<10 + 1)), 2},
		{"WebSocket 32 KB + 1 is two messages", float64(WebSocketMessages(32<<10 + 1)), 2},
		{"WebSocket 10 bytes is one message", float64(WebSocketMessages(10)), 1},
		{"Lambda 1.2 ms at 1024 MB bills 2 ms of 1 GB", LambdaGBSeconds(1.2, 1024), 0.002},
		{"Lambda 10 ms at 256 MB", LambdaGBSeconds(10, 256), 0.0025},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > 1e-12 {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}
