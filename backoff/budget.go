package backoff

import "time"

// Budget limits how many retries a client may send, so that retries cannot multiply the load on
// a service that is already failing. Every method takes the current time explicitly; a Budget
// never reads the clock. Implementations are safe for concurrent use.
//
// The protocol for one call:
//
//	b.OnRequest(now)                      // once, before the first attempt
//	... attempt fails with a retryable class ...
//	spend, ok := b.AcquireRetry(now, class) // before each retry; !ok: the budget refuses
//	... the retry succeeds ...
//	b.OnSuccess(now, spend)                // with the Spend of the attempt that succeeded
//
// A first attempt that succeeds reports OnSuccess(now, Spend{}).
type Budget interface {
	// Name identifies the budget in errors and metrics, e.g. "aws-retry-quota".
	Name() string
	// OnRequest records a new call (its first attempt).
	OnRequest(now time.Time)
	// AcquireRetry asks to spend for one retry after a failure of class. It reports false, and
	// spends nothing, when the budget refuses.
	AcquireRetry(now time.Time, class Class) (Spend, bool)
	// OnSuccess records that the attempt made under s succeeded (s is zero for a first attempt).
	OnSuccess(now time.Time, s Spend)
	// Level reports what is left at now.
	Level(now time.Time) Level
}

// Spend is what one retry took from a Budget. The zero Spend stands for a first attempt.
type Spend struct {
	Cost  float64 // tokens taken
	Retry bool    // true for a retry (even one that cost nothing)
}

// Level is a budget's state: Available tokens out of Capacity, and what one retry of each class
// would cost now.
type Level struct {
	Available float64
	Capacity  float64
}
