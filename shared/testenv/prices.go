package testenv

import "math"

// The price table: counted AWS requests turned into dollars for the
// benchmarks that bill them (infra/bench, the Go benchmarks). It is the one
// price table of the project, kept beside the request counter; its date
// says when it was read. Figures are US East list prices from
// ../shared/REFERENCE.md unless a line says otherwise. Capabilities that
// land later (push over SNS, events over EventBridge, attachments in S3,
// keys in KMS) price their requests from here too.

// PricesAsOf is when the table below was taken, and from where.
const PricesAsOf = "2026-11 (US East list prices, ../shared/REFERENCE.md)"

// List prices, USD per unit.
const (
	PriceDynamoDBWriteUnit   = 0.625 / 1e6 // on-demand write request unit
	PriceDynamoDBReadUnit    = 0.125 / 1e6 // on-demand read request unit
	PriceSQSRequest          = 0.40 / 1e6  // per request (each 64 KB chunk counts as one)
	PriceSQSFIFORequest      = 0.50 / 1e6  // per request to a FIFO queue (64 KB chunks)
	PriceLambdaRequest       = 0.20 / 1e6
	PriceLambdaARMGBSecond   = 0.0000133334
	PriceWebSocketMessage    = 1.00 / 1e6 // per message, metered in 32 KB steps
	PriceWebSocketConnMinute = 0.25 / 1e6
	// PriceRESTRequest is API Gateway REST APIs' first tier (333 million a
	// month). REFERENCE.md does not list it: AWS's API Gateway pricing page.
	PriceRESTRequest = 3.50 / 1e6

	PriceSNSMobilePush      = 0.50 / 1e6 // per notification (first million a month free, not applied)
	PriceEventBridgeEvent   = 1.00 / 1e6 // per PutEvents entry, 64 KB steps
	PriceS3Put              = 0.005 / 1e3
	PriceS3Get              = 0.0004 / 1e3
	PriceS3StorageGBMonth   = 0.023
	PriceKMSRequest         = 0.03 / 1e4
	PriceKMSKeyMonth        = 1.00
	PriceDynamoDBStreamRead = 0 // GetRecords by a Lambda event source mapping is free
)

// Metering steps: how AWS rounds what it bills.
const (
	DynamoDBWriteStep = 1 << 10  // a write unit covers 1 KB of item
	DynamoDBReadStep  = 4 << 10  // a read unit covers 4 KB
	SQSStep           = 64 << 10 // an SQS request covers 64 KB of payload
	WebSocketStep     = 32 << 10 // a WebSocket message is metered in 32 KB steps
	EventBridgeStep   = 64 << 10
)

// steps is how many units of step bytes cover size bytes: at least one (a
// write of an empty item, a read that finds nothing, an empty message are
// each billed one unit).
func steps(size, step int) int {
	if size <= step {
		return 1
	}
	return (size + step - 1) / step
}

// WriteUnits is what writing an item of size bytes costs: one unit per KB
// (of the larger of the old and new item), doubled inside a transaction.
func WriteUnits(size int, transactional bool) float64 {
	u := float64(steps(size, DynamoDBWriteStep))
	if transactional {
		u *= 2
	}
	return u
}

// ReadUnits is what reading size bytes costs: one unit per 4 KB strongly
// consistent, half that eventually consistent, twice that in a
// transaction (which is always consistent). A Query or Scan rounds the
// total of the items it read; GetItem and each item of a batch round on
// their own.
func ReadUnits(size int, consistent, transactional bool) float64 {
	u := float64(steps(size, DynamoDBReadStep))
	switch {
	case transactional:
		u *= 2
	case !consistent:
		u /= 2
	}
	return u
}

// SQSRequests is what one SQS call carrying payload bytes counts as.
func SQSRequests(payload int) int { return steps(payload, SQSStep) }

// WebSocketMessages is what one WebSocket message of size bytes counts as.
func WebSocketMessages(size int) int { return steps(size, WebSocketStep) }

// LambdaGBSeconds is what one invocation of d milliseconds costs in
// GB-seconds at memoryMB: duration is billed in whole milliseconds.
func LambdaGBSeconds(ms float64, memoryMB int) float64 {
	return math.Ceil(ms) / 1000 * float64(memoryMB) / 1024
}

// Usage is what one operation consumed.
type Usage struct {
	ReadUnits, WriteUnits float64
	SQSRequests           int
	SQSFIFORequests       int // to FIFO queues
	LambdaInvocations     int
	LambdaGBSeconds       float64
	WebSocketMessages     int
	// WebSocketConnMinutes is connection time (benchmarks of single
	// operations leave it zero; the monthly bill sets it).
	WebSocketConnMinutes float64
	RESTRequests         int
	SNSNotifications     int
	EventBridgeEvents    int
	S3Puts, S3Gets       int
	KMSRequests          int
}

// USD prices u.
func (u Usage) USD() float64 {
	return u.ReadUnits*PriceDynamoDBReadUnit + u.WriteUnits*PriceDynamoDBWriteUnit +
		float64(u.SQSRequests)*PriceSQSRequest + float64(u.SQSFIFORequests)*PriceSQSFIFORequest + float64(u.LambdaInvocations)*PriceLambdaRequest +
		u.LambdaGBSeconds*PriceLambdaARMGBSecond + float64(u.WebSocketMessages)*PriceWebSocketMessage +
		u.WebSocketConnMinutes*PriceWebSocketConnMinute + float64(u.RESTRequests)*PriceRESTRequest +
		float64(u.SNSNotifications)*PriceSNSMobilePush + float64(u.EventBridgeEvents)*PriceEventBridgeEvent +
		float64(u.S3Puts)*PriceS3Put + float64(u.S3Gets)*PriceS3Get + float64(u.KMSRequests)*PriceKMSRequest
}

// PerMillion is the cost of a million such operations.
func (u Usage) PerMillion() float64 { return u.USD() * 1e6 }

// Add returns u + v.
func (u Usage) Add(v Usage) Usage {
	return Usage{ReadUnits: u.ReadUnits + v.ReadUnits, WriteUnits: u.WriteUnits + v.WriteUnits,
		SQSRequests: u.SQSRequests + v.SQSRequests, SQSFIFORequests: u.SQSFIFORequests + v.SQSFIFORequests, LambdaInvocations: u.LambdaInvocations + v.LambdaInvocations,
		LambdaGBSeconds: u.LambdaGBSeconds + v.LambdaGBSeconds, WebSocketMessages: u.WebSocketMessages + v.WebSocketMessages,
		WebSocketConnMinutes: u.WebSocketConnMinutes + v.WebSocketConnMinutes, RESTRequests: u.RESTRequests + v.RESTRequests,
		SNSNotifications: u.SNSNotifications + v.SNSNotifications, EventBridgeEvents: u.EventBridgeEvents + v.EventBridgeEvents,
		S3Puts: u.S3Puts + v.S3Puts, S3Gets: u.S3Gets + v.S3Gets, KMSRequests: u.KMSRequests + v.KMSRequests}
}
