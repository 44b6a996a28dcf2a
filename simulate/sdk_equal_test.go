package simulate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"testing/synctest"
	"time"
	"unsafe" // for go:linkname, and to lock the adaptive retryer's mutex while reading its state

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

// The simulator's SDK baselines are proven equal to the real aws-sdk-go-v2 v1.48 retryers here.
// Each test runs one workload twice: with real EC2 clients (retry.NewStandard or
// retry.NewAdaptiveMode, one client per process) against the in-process emulator inside a
// testing/synctest bubble (virtual clock, real sleeps and timers), and in the simulator with the
// sdk-standard or sdk-adaptive strategy against the same server model. The clients' workers,
// start times, round trips and think times are the same; so is randomness: the SDK draws its
// jitter from crypto/rand, which testing/cryptotest.SetGlobalRandom makes a ChaCha8 stream, and
// the simulator's clients draw from sdkRandSource, which reads the same stream the way
// crypto/rand.Int does. The tests then require the same decisions, attempt by attempt: when
// each attempt was sent (so every backoff delay and every adaptive sleep), its number and its
// outcome, the retry quota's level, the adaptive limiter's fill rate, measured rate and tokens
// when each attempt was sent (hence after every response before it), and how and when each call
// ended.

// sdkSleepWithContext is the SDK's sleep (internal/sdk.SleepWithContext, a variable the SDK
// provides so that tests can replace it). The adaptive retryer asks it for 0 ns when its bucket
// is less than fillRate·1e-9 tokens short of one — after almost every sleep, whose duration it
// truncates — and loops: on a real clock time has moved on by then; on the bubble's virtual
// clock, which moves only when every goroutine is blocked, the loop would spin for ever. The
// tests sleep 1 ns instead, as the simulator's CubicLimiter does.
//
//go:linkname sdkSleepWithContext github.com/aws/aws-sdk-go-v2/internal/sdk.SleepWithContext
var sdkSleepWithContext func(context.Context, time.Duration) error

// sleepStats counts the SDK's sleeps: in total, and the most at once.
type sleepStats struct {
	mu                 sync.Mutex
	total, now, atOnce int
}

// useNanosecondSleeps makes the SDK's zero sleeps 1 ns until the test ends, and counts them.
func useNanosecondSleeps(t *testing.T, st *sleepStats) {
	prev := sdkSleepWithContext
	sdkSleepWithContext = func(ctx context.Context, d time.Duration) error {
		st.mu.Lock()
		st.total++
		st.now++
		st.atOnce = max(st.atOnce, st.now)
		st.mu.Unlock()
		err := prev(ctx, max(d, time.Nanosecond))
		st.mu.Lock()
		st.now--
		st.mu.Unlock()
		return err
	}
	t.Cleanup(func() { sdkSleepWithContext = prev })
}

// sdkRandSource is a math/rand/v2 source whose draws are the AWS SDK's: the SDK's backoff draws
// b = crypto/rand.Int(reader, 2^53) / 2^53, which reads 7 bytes and keeps their low 53 bits (big
// endian). Uint64 returns those 53 bits as its top bits, so rand.Rand.Int64N(n) — what the
// backoff package's full jitter calls — is ⌊b·n⌋, the SDK's b·n truncated to nanoseconds.
type sdkRandSource struct{ c *rand.ChaCha8 }

// newSDKRandSource returns the stream cryptotest.SetGlobalRandom(t, seed) gives crypto/rand.
func newSDKRandSource(seed uint64) *sdkRandSource {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:8], seed)
	return &sdkRandSource{c: rand.NewChaCha8(s)}
}

func (s *sdkRandSource) Uint64() uint64 {
	var b [8]byte
	s.c.Read(b[1:]) // crypto/rand.Int reads 7 bytes for a bound of 2^53
	b[1] &= 0x1f    // and keeps 53 bits
	return binary.BigEndian.Uint64(b[:]) << 11
}

// sendRec is an attempt as its client sent it: the process, when (from the start of the run),
// its number, the retry quota's level and, for adaptive clients, the rate limiter's state.
type sendRec struct {
	proc     int
	at       time.Duration
	attempt  int
	quota    float64
	fill     float64
	measured float64
	tokens   float64
}

// outcomeRec is an attempt's outcome: throttled or not.
type outcomeRec struct {
	proc      int
	at        time.Duration // when it was sent
	attempt   int
	throttled bool
}

// callRec is how a call ended: when, after how many attempts, and why ("success", "budget",
// "max_attempts").
type callRec struct {
	proc     int
	at       time.Duration
	attempts int
	end      string
}

type workload struct {
	processes, workers int
	think, rtt         time.Duration
	duration           time.Duration
	maxAttempts        int
	seed               uint64
	// timeout is each call's deadline (0: none); hints are the server's retry hints
	timeout time.Duration
	hints   []server.Hint
}

func (w workload) scenario() *Scenario {
	return &Scenario{Name: "sdk-equal", Duration: w.duration, Seed: w.seed, Runs: 1, MaxAttempts: w.maxAttempts,
		Server: ServerSpec{Hints: w.hints},
		Groups: []Group{{Name: "g", Loop: ClosedLoop, Processes: w.processes, Workers: w.workers, Think: w.think, RTT: w.rtt,
			Timeout: w.timeout, Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
}

// starts returns when each worker (process-major) starts its first call: the engine's draws.
func (w workload) starts(runSeed uint64) []time.Duration {
	rng := newRand(runSeed, streamGroup, 0)
	spread := int64(w.think + w.rtt)
	var out []time.Duration
	for i := 0; i < w.processes*w.workers; i++ {
		out = append(out, time.Duration(rng.Int64N(spread)))
	}
	return out
}

// sdkState reads the state of a real SDK retryer.
type sdkState struct {
	quota    *ratelimit.TokenRateLimit
	adaptive *retry.AdaptiveMode // nil for the standard mode
}

// limiterState reads the adaptive retryer's rate limiter (unexported fields, read under its
// mutex): fill rate, measured rate, tokens.
func (s sdkState) limiterState() (fill, measured, tokens float64) {
	if s.adaptive == nil {
		return 0, 0, 0
	}
	rl := reflect.ValueOf(s.adaptive).Elem().FieldByName("rateLimit").Elem()
	mu := (*sync.Mutex)(unsafe.Pointer(rl.FieldByName("mu").UnsafeAddr()))
	mu.Lock()
	defer mu.Unlock()
	tb := rl.FieldByName("tokenBucket").Elem()
	tmu := (*sync.Mutex)(unsafe.Pointer(tb.FieldByName("mu").UnsafeAddr()))
	tmu.Lock()
	defer tmu.Unlock()
	return rl.FieldByName("fillRate").Float(), rl.FieldByName("measuredTxRate").Float(), tb.FieldByName("remainingTokens").Float()
}

// newSDKRetryer returns a real SDK retryer of the given mode with w's attempts, and a reader of
// its state. The option functions only capture the default retry quota.
func newSDKRetryer(mode string, maxAttempts int) (aws.RetryerV2, sdkState) {
	var st sdkState
	capture := func(o *retry.StandardOptions) {
		if maxAttempts > 0 {
			o.MaxAttempts = maxAttempts
		}
		st.quota = o.RateLimiter.(*ratelimit.TokenRateLimit)
	}
	if mode == "adaptive" {
		a := retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, capture)
		})
		st.adaptive = a
		return a, st
	}
	return retry.NewStandard(capture), st
}

// recorder collects records from concurrent goroutines.
type recorder struct {
	mu       sync.Mutex
	sends    []sendRec
	outcomes []outcomeRec
	calls    []callRec
	sleeps   sleepStats // the SDK's sleeps; the simulator's clients told to wait
}

// hopClient is one process's aws.HTTPClient: each request travels rtt/2 to the emulator, is
// served there (the server model decides at that instant) and travels rtt/2 back, all in the
// bubble's virtual time.
type hopClient struct {
	proc  int
	hop   time.Duration
	emu   http.Handler
	state sdkState
	t0    time.Time
	rec   *recorder
}

// attemptsKey is the context key of a call's attempt counter, which hopClient counts;
// inFlightKey that of a flag hopClient sets when the call's context ends an attempt in flight.
type (
	attemptsKey struct{}
	inFlightKey struct{}
)

// hop waits d, or until ctx is done (the deadline cancels an attempt in flight).
func hop(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *hopClient) Do(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	ctx := req.Context()
	if n, ok := ctx.Value(attemptsKey{}).(*int); ok {
		*n++
	}
	fill, measured, tokens := c.state.limiterState()
	quota := float64(c.state.quota.Remaining())
	attempt := 0
	for _, kv := range strings.Split(req.Header.Get("Amz-Sdk-Request"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "attempt="); ok {
			attempt, _ = strconv.Atoi(v)
		}
	}
	record := func(throttled bool) {
		at := sent.Sub(c.t0)
		c.rec.mu.Lock()
		c.rec.sends = append(c.rec.sends, sendRec{proc: c.proc, at: at, attempt: attempt, quota: quota, fill: fill, measured: measured, tokens: tokens})
		c.rec.outcomes = append(c.rec.outcomes, outcomeRec{proc: c.proc, at: at, attempt: attempt, throttled: throttled})
		c.rec.mu.Unlock()
	}
	canceled := func(err error) (*http.Response, error) {
		if f, ok := ctx.Value(inFlightKey{}).(*bool); ok {
			*f = true
		}
		record(false)
		return nil, err
	}
	if err := hop(ctx, c.hop); err != nil {
		return canceled(err)
	}
	srv := req.Clone(ctx)
	srv.Host = req.URL.Host
	srv.RequestURI = req.URL.RequestURI()
	if srv.Body == nil {
		srv.Body = http.NoBody
	}
	rr := httptest.NewRecorder()
	c.emu.ServeHTTP(rr, srv)
	resp := rr.Result()
	resp.Request = req
	if err := hop(ctx, c.hop); err != nil {
		return canceled(err)
	}
	record(resp.StatusCode == 503)
	return resp, nil
}

// runSDK runs w with real SDK clients of mode inside a synctest bubble and returns what they
// did, and the bubble's start (the simulator's epoch for the comparison).
func runSDK(t *testing.T, w workload, mode string, runSeed uint64) (*recorder, time.Time) {
	rec := &recorder{}
	var t0 time.Time
	cryptotest.SetGlobalRandom(t, w.seed)
	useNanosecondSleeps(t, &rec.sleeps)
	synctest.Test(t, func(t *testing.T) {
		t0 = time.Now()
		hints, err := server.DefaultHints().With(w.hints)
		if err != nil {
			t.Fatal(err)
		}
		emu, err := emulator.New(emulator.Options{Seed: 1, Hints: hints})
		if err != nil {
			t.Fatal(err)
		}
		starts := w.starts(runSeed)
		var wg sync.WaitGroup
		for p := 0; p < w.processes; p++ {
			r, st := newSDKRetryer(mode, w.maxAttempts)
			hc := &hopClient{proc: p, hop: w.rtt / 2, emu: emu, state: st, t0: t0, rec: rec}
			client := ec2.NewFromConfig(aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
				BaseEndpoint: aws.String("http://emulator.test"),
				HTTPClient:   hc,
				Retryer:      func() aws.Retryer { return r },
			}, func(o *ec2.Options) {
				// The invocation ID is a UUID from crypto/rand: it would take bytes from the
				// jitter's stream. It plays no part in retrying.
				o.APIOptions = append(o.APIOptions, func(s *smithymiddleware.Stack) error {
					_, err := s.Build.Remove("ClientRequestID")
					return err
				})
			})
			for k := 0; k < w.workers; k++ {
				start := starts[p*w.workers+k]
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(start)
					for {
						attempts, inFlight := 0, false
						ctx := context.WithValue(context.Background(), attemptsKey{}, &attempts)
						ctx = context.WithValue(ctx, inFlightKey{}, &inFlight)
						cancel := context.CancelFunc(func() {})
						if w.timeout > 0 {
							ctx, cancel = context.WithTimeout(ctx, w.timeout)
						}
						_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
						cancel()
						end := "success"
						if err != nil {
							var quota ratelimit.QuotaExceededError
							var maxed *retry.MaxAttemptsError
							switch {
							case errors.As(err, &quota):
								end = "budget"
							case errors.As(err, &maxed):
								end = "max_attempts"
							case errors.Is(err, context.DeadlineExceeded) && inFlight:
								end = ReasonDeadlineInFlight
							case errors.Is(err, context.DeadlineExceeded):
								end = "deadline"
							default:
								end = err.Error()
							}
						}
						now := time.Since(t0)
						rec.mu.Lock()
						rec.calls = append(rec.calls, callRec{proc: p, at: now, attempts: attempts, end: end})
						rec.mu.Unlock()
						if now+w.think >= w.duration {
							return
						}
						time.Sleep(w.think)
					}
				}()
			}
		}
		wg.Wait()
	})
	return rec, t0
}

// observedStrategy wraps a strategy under test: every client draws from one shared source (the
// SDK's retryers share crypto/rand), and the client's state is recorded when it sends.
type observedStrategy struct {
	Strategy
	rng   *rand.Rand
	procs int
	rec   *recorder
	epoch time.Time
}

func (o *observedStrategy) NewClient(env ClientEnv) Client {
	env.Rand = o.rng
	c := &observedClient{Client: o.Strategy.NewClient(env), proc: o.procs, o: o}
	o.procs++
	return c
}

type observedClient struct {
	Client
	proc int
	o    *observedStrategy
}

func (c *observedClient) Admit(now time.Time, call *Call) Admission {
	a := c.Client.Admit(now, call)
	if a.Wait > 0 {
		c.o.rec.sleeps.total++
	}
	if a.Wait > 0 || a.Refused {
		return a
	}
	r := sendRec{proc: c.proc, at: now.Sub(c.o.epoch), attempt: call.Attempt + 1}
	switch cl := c.Client.(type) {
	case *policyClient:
		r.quota = cl.policy.Budget.Level(now).Available
	case *adaptiveClient:
		r.quota = cl.std.policy.Budget.Level(now).Available
		r.fill, r.measured = cl.rate.FillRate(), cl.rate.MeasuredRate()
		r.tokens, _ = cl.rate.Tokens() // after this acquisition's refill (none while disabled)
	}
	c.o.rec.sends = append(c.o.rec.sends, r)
	return a
}

// simObserver records the simulator's attempt outcomes and call ends.
type simObserver struct {
	rec   *recorder
	epoch time.Time
}

func (s *simObserver) Observe(ev event.Event) {
	proc, _ := strconv.Atoi(ev.Client[strings.LastIndexByte(ev.Client, '/')+1:])
	switch ev.Kind {
	case event.AttemptFinished:
		s.rec.outcomes = append(s.rec.outcomes, outcomeRec{proc: proc, at: ev.Time.Sub(s.epoch) - ev.Duration,
			attempt: ev.Attempt, throttled: ev.Outcome == backoff.Throttle})
	case event.CallFinished:
		end := ev.Reason
		if ev.Outcome == backoff.Success {
			end = "success"
		}
		s.rec.calls = append(s.rec.calls, callRec{proc: proc, at: ev.Time.Sub(s.epoch), attempts: ev.Attempts, end: end})
	}
}

// runSim runs w in the simulator under strat with epoch as virtual time 0.
func runSim(t *testing.T, w workload, strat Strategy, runSeed uint64, epoch time.Time) *recorder {
	c, err := compile(w.scenario())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	obs := &observedStrategy{Strategy: strat, rng: rand.New(newSDKRandSource(w.seed)), rec: rec, epoch: epoch}
	old := Epoch
	Epoch = epoch
	defer func() { Epoch = old }()
	if r := runScenario(context.Background(), c, obs, runSeed, &simObserver{rec: rec, epoch: epoch}, newGuard("sdk-equal", Limits{}, 1)); r.err != nil {
		t.Fatal(r.err)
	}
	return rec
}

// sameRecords fails t unless the SDK's and the simulator's records are the same (in any order).
func sameRecords[T any](t *testing.T, what string, sdk, sim []T, cmp func(a, b T) int) {
	t.Helper()
	slices.SortFunc(sdk, cmp)
	slices.SortFunc(sim, cmp)
	if len(sdk) != len(sim) {
		t.Errorf("%s: SDK %d, simulator %d", what, len(sdk), len(sim))
	}
	for i := range min(len(sdk), len(sim)) {
		if cmp(sdk[i], sim[i]) != 0 {
			t.Errorf("%s differ from #%d of %d:\n  SDK       %+v\n  simulator %+v", what, i, len(sdk), sdk[i], sim[i])
			return
		}
	}
}

func cmpSend(a, b sendRec) int {
	for _, d := range []int{cmpInt(int64(a.at), int64(b.at)), a.proc - b.proc, a.attempt - b.attempt,
		cmpFloat(a.quota, b.quota), cmpFloat(a.fill, b.fill), cmpFloat(a.measured, b.measured), cmpFloat(a.tokens, b.tokens)} {
		if d != 0 {
			return d
		}
	}
	return 0
}

func cmpOutcome(a, b outcomeRec) int {
	for _, d := range []int{cmpInt(int64(a.at), int64(b.at)), a.proc - b.proc, a.attempt - b.attempt, cmpBool(a.throttled, b.throttled)} {
		if d != 0 {
			return d
		}
	}
	return 0
}

func cmpCall(a, b callRec) int {
	for _, d := range []int{cmpInt(int64(a.at), int64(b.at)), a.proc - b.proc, a.attempts - b.attempts, strings.Compare(a.end, b.end)} {
		if d != 0 {
			return d
		}
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBool(a, b bool) int { return cmpInt(int64(boolInt(a)), int64(boolInt(b))) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compare runs w both ways and requires the same records.
func compareWithSDK(t *testing.T, w workload, mode string, strat Strategy) (sdk, sim *recorder) {
	const runSeed = 7
	sdk, t0 := runSDK(t, w, mode, runSeed)
	sim = runSim(t, w, strat, runSeed, t0)
	sameRecords(t, "attempts sent (time, process, number, quota, fill rate, measured rate, tokens)", sdk.sends, sim.sends, cmpSend)
	sameRecords(t, "attempt outcomes", sdk.outcomes, sim.outcomes, cmpOutcome)
	sameRecords(t, "calls ended (time, process, attempts, why)", sdk.calls, sim.calls, cmpCall)
	return sdk, sim
}

func summary(r *recorder) string {
	thr, quota := 0, 0
	for _, o := range r.outcomes {
		thr += boolInt(o.throttled)
	}
	for _, c := range r.calls {
		if c.end == "budget" {
			quota++
		}
	}
	return fmt.Sprintf("%d attempts (%d throttled), %d calls (%d refused by the retry quota), %d sleeps (at most %d at once)",
		len(r.outcomes), thr, len(r.calls), quota, r.sleeps.total, r.sleeps.atOnce)
}

// sdk-standard makes the real standard retryer's decisions: 2 processes × 8 workers against
// DescribeInstances' bucket (100, 20/s), throttled hard enough to drain both retry quotas.
func TestSDKStandardEqualsSDK(t *testing.T) {
	w := workload{processes: 2, workers: 16, think: 10 * time.Millisecond, rtt: 20 * time.Millisecond, duration: 8 * time.Second, seed: 11}
	sdk, _ := compareWithSDK(t, w, "standard", &SDKStandard{})
	t.Log("SDK:", summary(sdk))
}

// sdk-adaptive makes the real adaptive retryer's decisions, retries included: 3 processes with
// one worker each (so that no two of a client's attempts sleep at once: which of several
// sleepers wins a token is a race, see TestSDKAdaptiveWakeUpsEqualSDK), against
// DescribeInstances' bucket.
func TestSDKAdaptiveEqualsSDK(t *testing.T) {
	w := workload{processes: 4, workers: 1, think: 5 * time.Millisecond, rtt: 20 * time.Millisecond, duration: 60 * time.Second, seed: 12}
	sdk, _ := compareWithSDK(t, w, "adaptive", &SDKAdaptive{})
	t.Log("SDK:", summary(sdk))
	if sdk.sleeps.total < 1000 {
		t.Errorf("the SDK slept %d times: the workload does not exercise the adaptive bucket", sdk.sleeps.total)
	}
}

// The adaptive retryer's wake-ups: 32 workers of one client, one attempt per call (so that every
// waiting call is like every other and the race for a token cannot change what follows), from
// the start (every worker in flight before the first throttle enables the bucket) through the
// bucket's sleeps, where every sleeper wakes each time and all but the winners sleep again. The
// simulator releases the same number of attempts at the same instants.
func TestSDKAdaptiveWakeUpsEqualSDK(t *testing.T) {
	w := workload{processes: 1, workers: 64, think: 0, rtt: 20 * time.Millisecond, duration: 30 * time.Second, maxAttempts: 1, seed: 13}
	sdk, sim := compareWithSDK(t, w, "adaptive", &SDKAdaptive{MaxAttempts: 1})
	t.Log("SDK:", summary(sdk))
	t.Logf("simulator: %d admissions answered with a wait (the losers of a wake-up are told, not asked)", sim.sleeps.total)
	if sdk.sleeps.atOnce < w.workers/2 {
		t.Errorf("at most %d SDK sleepers at once: the workload does not exercise shared wake-ups", sdk.sleeps.atOnce)
	}
}

// Deadlines and server hints, as the real retryers meet them: every call has a deadline, which
// passes during backoffs, adaptive sleeps and attempts in flight (the SDK's HTTP request is then
// cancelled: its context's error ends the call, and the adaptive limiter counts the attempt as
// completed, not throttled); the server's throttles carry x-amz-retry-after, which raises the
// SDK's backoff (clamped to [backoff, backoff+5 s]). The attempts, their times and the calls'
// ends must be the same, the reason too ("deadline" while waiting, "deadline_in_flight").
func TestSDKDeadlinesAndHintsEqualSDK(t *testing.T) {
	hints := []server.Hint{{Service: "EC2", Header: server.HeaderAmzRetryAfter, Form: server.HintMilliseconds, After: 700 * time.Millisecond}}
	for _, c := range []struct {
		mode  string
		strat Strategy
		w     workload
	}{
		{"standard", &SDKStandard{}, workload{processes: 2, workers: 16, think: 10 * time.Millisecond, rtt: 300 * time.Millisecond,
			duration: 8 * time.Second, seed: 21, timeout: 1234567 * time.Microsecond, hints: hints}},
		{"adaptive", &SDKAdaptive{}, workload{processes: 10, workers: 1, think: 5 * time.Millisecond, rtt: 400 * time.Millisecond,
			duration: 40 * time.Second, seed: 22, timeout: 1234567 * time.Microsecond, hints: hints}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			sdk, _ := compareWithSDK(t, c.w, c.mode, c.strat)
			ends := map[string]int{}
			for _, call := range sdk.calls {
				ends[call.end]++
			}
			t.Logf("SDK: %s; calls ended: %v", summary(sdk), ends)
			if ends[ReasonDeadlineInFlight] == 0 || ends["deadline"] == 0 {
				t.Errorf("calls ended %v: the workload must end calls in flight and while they wait", ends)
			}
		})
	}
}
