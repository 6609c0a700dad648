package testenv

// The price table: counted AWS requests (Env.Counted) turned into dollars
// for the benchmarks that bill them. It lives here and only here, beside the
// counter, because only benchmarks price requests; its date says when it was
// read (US East list prices).

// PricesAsOf is when the table below was taken.
const PricesAsOf = "2026-11 (US East list prices)"

// List prices, USD per unit.
const (
	PriceDynamoDBWriteUnit   = 0.625 / 1e6 // on-demand write request unit
	PriceDynamoDBReadUnit    = 0.125 / 1e6 // on-demand read request unit
	PriceSQSRequest          = 0.40 / 1e6  // per request (each 64 KB chunk counts as one)
	PriceLambdaRequest       = 0.20 / 1e6
	PriceLambdaARMGBSecond   = 0.0000133334
	PriceWebSocketMessage    = 1.00 / 1e6 // per message, metered in 32 KB steps
	PriceWebSocketConnMinute = 0.25 / 1e6
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
	return u.ReadUnits*PriceDynamoDBReadUnit + u.WriteUnits*PriceDynamoDBWriteUnit +
		float64(u.SQSRequests)*PriceSQSRequest + float64(u.LambdaInvocations)*PriceLambdaRequest +
		u.LambdaGBSeconds*PriceLambdaARMGBSecond + float64(u.WebSocketMessages)*PriceWebSocketMessage
}

// PerMillion is the cost of a million such operations.
func (u Usage) PerMillion() float64 { return u.USD() * 1e6 }
