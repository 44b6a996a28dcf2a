package load

import (
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	smithy "github.com/aws/smithy-go"

	"github.com/tollgate/tollgate/limiter"

	"github.com/tollgate/tollgate/simulate"
)

// clientSide is implemented by errors tollgate raises when it refuses a call on the client side.
type clientSide interface{ ClientSide() bool }

// recorder aggregates finished calls per API.
type recorder struct {
	mix  []Op
	mu   sync.Mutex
	apis []apiStats
}

type apiStats struct {
	calls, failed, refused, attempts, throttled int
	latency                                     simulate.Histogram // every call's
	okLatency                                   simulate.Histogram // successful calls'
	codes                                       map[string]int
}

func newRecorder(mix []Op) *recorder {
	return &recorder{mix: mix, apis: make([]apiStats, len(mix))}
}

// record counts one finished call of mix entry i.
func (r *recorder) record(i int, cs *callStats, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &r.apis[i]
	a.calls++
	a.attempts += cs.attempts
	a.throttled += cs.throttled
	a.latency.Add(d)
	if err == nil {
		a.okLatency.Add(d)
		return
	}
	a.failed++
	if refusedByClient(err) {
		a.refused++
	}
	code := "transport"
	var ae smithy.APIError
	switch {
	case refusedByClient(err):
		code = "client-side refusal"
	case errors.As(err, &ae):
		code = ae.ErrorCode()
	}
	if a.codes == nil {
		a.codes = map[string]int{}
	}
	if len(a.codes) < 20 || a.codes[code] > 0 {
		a.codes[code]++
	} else {
		a.codes["other"]++
	}
}

// refusedByClient reports whether err is a client-side refusal: tollgate's limiter or retry
// policy (budget, deadline), or the SDK's own retry quota. The call failed without AWS refusing
// its last attempt.
func refusedByClient(err error) bool {
	var lr *limiter.RefusedError
	var qe ratelimit.QuotaExceededError
	if errors.As(err, &lr) || errors.As(err, &qe) {
		return true
	}
	var cs clientSide
	return errors.As(err, &cs) && cs.ClientSide()
}

func (r *recorder) totals() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p Progress
	for i := range r.apis {
		a := &r.apis[i]
		p.Calls += a.calls
		p.Failed += a.failed
		p.Attempts += a.attempts
		p.Throttled += a.throttled
	}
	return p
}

// progress calls f with the run's totals every second from start until the function it returns
// is called (nil f: nothing).
func (r *recorder) progress(f func(Progress), start time.Time) func() {
	return everySecond(f, start, r.totals)
}

// everySecond calls f with totals() (Elapsed set from start) every second, on a goroutine of its
// own, until the function it returns is called; that function returns once the goroutine has
// ended. A nil f starts nothing.
func everySecond(f func(Progress), start time.Time, totals func() Progress) func() {
	if f == nil {
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p := totals()
				p.Elapsed = time.Since(start)
				f(p)
			}
		}
	}()
	return func() { close(stop); <-done }
}
