// Package cost turns counted AWS requests into dollars. The price table
// lives here and only here; its date says when it was read (US East list
// prices from ../shared/REFERENCE.md).
package cost

// PricesAsOf is when the table below was taken.
const PricesAsOf = "2026-11 (US East list prices)"

// USD per unit.
const (
	DynamoDBWriteUnit   = 0.625 / 1e6 // on-demand write request unit
	DynamoDBReadUnit    = 0.125 / 1e6 // on-demand read request unit
	SQSRequest          = 0.40 / 1e6  // per request (each 64 KB chunk counts as one)
	LambdaRequest       = 0.20 / 1e6
	LambdaARMGBSecond   = 0.0000133334
	WebSocketMessage    = 1.00 / 1e6 // per message, metered in 32 KB steps
	WebSocketConnMinute = 0.25 / 1e6
)

// Usage is what one operation consumed.
type Usage struct {
	ReadUnits, WriteUnits float64
	SQSRequests           int
	LambdaInvocations     int
	LambdaGBSeconds       float64
	WebSocketMessages     int
}

// USD prices u.
func (u Usage) USD() float64 {
	return u.ReadUnits*DynamoDBReadUnit + u.WriteUnits*DynamoDBWriteUnit +
		float64(u.SQSRequests)*SQSRequest + float64(u.LambdaInvocations)*LambdaRequest +
		u.LambdaGBSeconds*LambdaARMGBSecond + float64(u.WebSocketMessages)*WebSocketMessage
}

// PerMillion is the cost of a million such operations.
func (u Usage) PerMillion() float64 { return u.USD() * 1e6 }
