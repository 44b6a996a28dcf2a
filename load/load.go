// Package load drives real AWS SDK for Go v2 clients — with tollgate installed, or with the
// SDK's own retryer for comparison — at a chosen mix of operations, at a rate or a concurrency,
// for a duration, against an endpoint (tollgate's emulator, normally), and reports per API what
// happened: calls, failures, attempts, throttles, latency. It is the engine of `tollgate-live load`,
// the run a user watches in Grafana.
//
// The report is measured by the load itself, in a middleware at the very end of each client's
// stack that sees every attempt actually sent and its answer, so it is the same with and
// without tollgate and independent of tollgate's events (which go to Config.Observer, e.g. a
// metrics.Collector).
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithymetrics "github.com/aws/smithy-go/metrics"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/internal/redact"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/middleware"
)

// Op is one API of the mix and its weight: calls are drawn with probability weight/total.
type Op struct {
	Service   string // lower case: "ec2", "s3", "dynamodb", "kms", "lambda", "sts"
	Operation string // "DescribeInstances"
	Weight    float64
}

// API returns "service:Operation".
func (o Op) API() string { return o.Service + ":" + o.Operation }

// DefaultMix is the mix `tollgate-live load` drives when none is given.
const DefaultMix = "ec2:DescribeInstances=5,s3:GetObject=3,dynamodb:GetItem=2"

// ParseMix parses "service:Operation=weight,..." (weight defaults to 1), e.g.
// "ec2:DescribeInstances=5,s3:GetObject=3,dynamodb:GetItem=2". Services are matched in any
// case; see Operations for what is supported.
func ParseMix(s string) ([]Op, error) {
	var ops []Op
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		api, w, hasWeight := strings.Cut(part, "=")
		weight := 1.0
		if hasWeight {
			v, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
			if err != nil || !(v > 0) || v > 1e6 {
				return nil, fmt.Errorf("load: mix entry %d %q: weight must be a number > 0", i+1, part)
			}
			weight = v
		}
		service, name, ok := strings.Cut(strings.TrimSpace(api), ":")
		if !ok {
			return nil, fmt.Errorf("load: mix entry %d %q: want service:Operation[=weight]", i+1, part)
		}
		op, ok := lookup(service, name)
		if !ok {
			return nil, fmt.Errorf("load: mix entry %d %q: unknown API; supported: %s", i+1, part, strings.Join(Operations(), ", "))
		}
		key := op.service + ":" + op.name
		if seen[key] {
			return nil, fmt.Errorf("load: mix entry %d %q: %s given twice", i+1, part, key)
		}
		seen[key] = true
		ops = append(ops, Op{Service: op.service, Operation: op.name, Weight: weight})
	}
	if len(ops) == 0 {
		return nil, errors.New("load: empty mix")
	}
	return ops, nil
}

// Config configures a run.
type Config struct {
	// Endpoint is the base URL every client calls, e.g. an emulator's URL. Required.
	Endpoint string
	// Region is the AWS Region; "" means us-east-1.
	Region string
	// Credentials sign the requests; nil means static "test"/"test" credentials (any
	// credentials work with the emulator).
	Credentials aws.CredentialsProvider

	// Mix is the operations to drive; nil means DefaultMix.
	Mix []Op
	// Duration is how long calls are started for (in-flight calls are then waited for).
	Duration time.Duration
	// Rate, if > 0, starts calls at this many per second (open loop); Concurrency then caps
	// the calls in flight (0: 1,000), and a call that would exceed the cap is not started but
	// counted in Report.Dropped (Report.Offered counts every call the rate asked for).
	// Otherwise Concurrency workers make calls back to back (closed loop).
	Rate        float64
	Concurrency int
	// Timeout bounds each call (its context's deadline); 0 means none.
	Timeout time.Duration

	// Retryer is what retries the calls: RetryerTollgate (tollgate's middleware; the default),
	// RetryerStandard (the SDK's standard retry mode, as every client builds it by default) or
	// RetryerAdaptive (the SDK's adaptive retry mode).
	Retryer string
	// NoTollgate is Retryer: RetryerStandard.
	NoTollgate bool
	// Arrivals is how rate mode spaces its calls: ArrivalsEven (the default) or
	// ArrivalsPoisson.
	Arrivals string
	// Limiter is tollgate's client-side limiter; nil means none (retries and backoff only).
	Limiter *limiter.Limiter
	// Processes is how many independent client processes the run holds (0 means 1): each has
	// its own SDK clients, connections, retry quota and tollgate — its own limiter,
	// Limiters[i] — as the pods of a fleet would, and every call goes to one of them at
	// random. With a fleet store in the limiters (limiter.WithStore), they share its buckets.
	Processes int
	// Limiters are the processes' limiters when Processes > 1 (one each, none shared; nil:
	// no limiter). Limiter must then be nil.
	Limiters []*limiter.Limiter
	// Store names what the processes' limiters share their buckets through, for the report
	// (a Redis URL without its password); "" for nothing.
	Store string
	// MaxAttempts is the maximum attempts per call; 0 means the SDK default, 3.
	MaxAttempts int
	// Observer receives tollgate's events (a metrics.Collector, usually).
	Observer event.Observer
	// MeterProvider, if not nil, receives the SDK's own client metrics (sdkmetrics).
	MeterProvider smithymetrics.MeterProvider

	// Keys is how many S3 objects and DynamoDB items the calls spread over; 0 means 64.
	Keys int
	// Seed seeds the choice of operations and keys and tollgate's jitter.
	Seed uint64

	// Progress, if not nil, is called about once a second with the counts so far.
	Progress func(Progress)
}

// Progress is a run's state so far.
type Progress struct {
	Elapsed                            time.Duration
	Calls, Failed, Attempts, Throttled int
}

// defaultInflightCap caps the calls in flight in rate mode when Concurrency is 0.
const defaultInflightCap = 1000

func (c *Config) check() error {
	switch {
	case c.Endpoint == "":
		return errors.New("load: no endpoint")
	case c.Duration <= 0:
		return errors.New("load: duration must be > 0")
	case !(c.Rate >= 0) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("load: rate must be a finite number >= 0 (calls per second), not %v", c.Rate)
	case c.Concurrency < 0 || c.Timeout < 0 || c.MaxAttempts < 0 || c.Keys < 0:
		return errors.New("load: concurrency, timeout, max attempts and keys must not be negative")
	case c.Rate == 0 && c.Concurrency == 0:
		return errors.New("load: set a rate or a concurrency")
	case c.NoTollgate && c.Retryer != "" && c.Retryer != RetryerStandard:
		return fmt.Errorf("load: NoTollgate and Retryer %q disagree", c.Retryer)
	case c.Processes < 0:
		return errors.New("load: processes must not be negative")
	case c.Processes > 1 && c.Limiter != nil:
		return errors.New("load: with several processes, give each its own limiter (Limiters), not one for all")
	case c.Limiters != nil && len(c.Limiters) != max(c.Processes, 1):
		return fmt.Errorf("load: %d limiters for %d processes: want one each", len(c.Limiters), max(c.Processes, 1))
	}
	if _, err := retryerKind(c.Retryer); err != nil {
		return err
	}
	if c.Arrivals != "" && c.Arrivals != ArrivalsEven && c.Arrivals != ArrivalsPoisson {
		return fmt.Errorf("load: arrivals %q: want even or poisson", c.Arrivals)
	}
	return nil
}

// retryer returns the run's retryer kind.
func (c *Config) retryer() string {
	if c.NoTollgate {
		return RetryerStandard
	}
	k, _ := retryerKind(c.Retryer)
	return k
}

// Run drives the load described by cfg and returns its report. It returns an error when the
// clients cannot be built or the setup calls (objects to get, items to read) fail; failures of
// the load's own calls are counted in the report, not returned. When ctx is done, Run stops
// starting calls at once (in rate mode too, at any rate), waits for the calls in flight (their
// contexts are ctx's, so they end too) and returns the report so far. No error it returns, and
// no endpoint in its report, holds credentials found in a URL (user information, signed query
// parameters): they are redacted.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep, err := run(ctx, cfg)
	return rep, redact.Error(err)
}

func run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Mix == nil {
		cfg.Mix, _ = ParseMix(DefaultMix)
	}
	if cfg.Keys == 0 {
		cfg.Keys = 64
	}
	ops := make([]operation, len(cfg.Mix))
	total := 0.0
	for i, m := range cfg.Mix {
		op, ok := lookup(m.Service, m.Operation)
		if !ok || !(m.Weight > 0) {
			return nil, fmt.Errorf("load: mix: %s: unknown API or weight <= 0", m.API())
		}
		ops[i] = op
		total += m.Weight
	}

	rec := newRecorder(cfg.Mix)
	procs := make([]*clients, max(cfg.Processes, 1))
	for p := range procs {
		pc := cfg
		if cfg.Limiters != nil {
			pc.Limiter = cfg.Limiters[p]
		}
		pc.Seed = cfg.Seed + uint64(p) // each process's own jitter
		c, err := newClients(ctx, pc, rec)
		if err != nil {
			return nil, err
		}
		defer c.idle.close()
		procs[p] = c
	}
	setup, err := newClients(ctx, Config{Endpoint: cfg.Endpoint, Region: cfg.Region, Credentials: cfg.Credentials,
		Retryer: RetryerStandard, Concurrency: 1}, nil)
	if err != nil {
		return nil, err
	}
	defer setup.idle.close()
	setup.keys = cfg.Keys
	targets := make([]target, len(ops))
	for i := range targets {
		targets[i] = defaultTarget
	}
	if err := runSetups(ctx, setup, ops, targets); err != nil {
		return nil, err
	}
	for _, c := range procs {
		c.keys, c.instanceID, c.ciphertext = cfg.Keys, setup.instanceID, setup.ciphertext
	}

	pick := func(r *rand.Rand) int {
		x := r.Float64() * total
		for i, m := range cfg.Mix {
			if x < m.Weight {
				return i
			}
			x -= m.Weight
		}
		return len(cfg.Mix) - 1
	}
	call := func(i, n int) {
		cctx := ctx
		if cfg.Timeout > 0 {
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
		}
		cs := &callStats{}
		cctx = context.WithValue(cctx, callKey{}, cs)
		// The process the call goes to: a hash of n, independent of the key n picks.
		c := procs[int((uint64(n)*0x9e3779b97f4a7c15)>>40)%len(procs)]
		start := time.Now()
		err := ops[i].call(cctx, c, defaultTarget, n)
		rec.record(i, cs, time.Since(start), err)
	}

	start := time.Now()
	stopProgress := rec.progress(cfg.Progress, start)
	var ol openLoopStats
	if cfg.Rate > 0 {
		ol = openLoop(ctx, cfg, start, pick, call)
	} else {
		closedLoop(ctx, cfg, start, pick, call)
	}
	elapsed := time.Since(start)
	stopProgress()
	return rec.report(cfg, elapsed, ol.offered, ol.dropped), nil
}

// openLoop starts calls at cfg.Rate per second (evenly spaced, or as a Poisson process) until
// cfg.Duration has passed or ctx is done, at most cfg.Concurrency (or defaultInflightCap) in
// flight, and waits for them. It returns how many calls the rate asked for and how many of those
// it could not start because the cap was reached: none is dropped silently.
//
// It sleeps until the next arrival, and when the cap is reached, until a call ends (or the run
// does): then every arrival due in between is counted as dropped at once. Its wake-ups are
// bounded by the arrivals it starts and the calls that end, whatever the rate: at the cap it
// does not spin, and the calls that cannot start are counted, not started one by one.
func openLoop(ctx context.Context, cfg Config, start time.Time, pick func(*rand.Rand) int, call func(i, n int)) openLoopStats {
	limit := cfg.Concurrency
	if limit == 0 {
		limit = defaultInflightCap
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	r := rand.New(rand.NewPCG(cfg.Seed, 0x6c6f6164))
	sched, _ := newSchedule(cfg.Arrivals, cfg.Rate, rand.New(rand.NewPCG(cfg.Seed, 0x61727276)))
	var st openLoopStats
	timer := time.NewTimer(0)
	defer timer.Stop()
	// wait sleeps until d from start, ctx is done or, with slot, a slot frees (which it then
	// holds). It reports whether it got the slot.
	wait := func(d time.Duration, slot bool) bool {
		st.wakeups++
		timer.Reset(max(d-time.Since(start), 0))
		var slots chan struct{}
		if slot {
			slots = sem
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
		case slots <- struct{}{}:
			return true
		}
		return false
	}
	for {
		elapsed := time.Since(start)
		if elapsed >= cfg.Duration || ctx.Err() != nil {
			break
		}
		if sched.peek() > elapsed {
			wait(min(sched.peek(), cfg.Duration), false)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			// The cap is reached: the calls due until a slot frees cannot start.
			if !wait(cfg.Duration, true) {
				n := sched.skip(min(time.Since(start), cfg.Duration))
				st.offered, st.dropped = st.offered+n, st.dropped+n
				continue
			}
			n := sched.skip(min(time.Since(start), cfg.Duration))
			st.offered, st.dropped = st.offered+n, st.dropped+n
			<-sem // the slot is for the next arrival, not for one already dropped
			continue
		}
		sched.take()
		st.offered++
		i, n := pick(r), r.IntN(1<<30)
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			call(i, n)
		}()
	}
	wg.Wait()
	return st
}

// openLoopStats are what openLoop counts: the calls the rate asked for, those it could not
// start, and how often it slept.
type openLoopStats struct {
	offered, dropped, wakeups int64
}

// closedLoop runs cfg.Concurrency workers making calls back to back until cfg.Duration has
// passed.
func closedLoop(ctx context.Context, cfg Config, start time.Time, pick func(*rand.Rand) int, call func(i, n int)) {
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(cfg.Seed, uint64(w)+1))
			for time.Since(start) < cfg.Duration && ctx.Err() == nil {
				call(pick(r), r.IntN(1<<30))
			}
		}()
	}
	wg.Wait()
}

// newClients builds the six SDK clients for cfg, with its retryer (tollgate, or the SDK's
// standard or adaptive mode, each client its own), and with the attempt counter feeding rec
// when rec is not nil.
func newClients(ctx context.Context, cfg Config, rec *recorder) (*clients, error) {
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = credentials.NewStaticCredentialsProvider("test", "test", "")
	}
	conns := max(cfg.Concurrency, 64)
	if cfg.Rate > 0 && cfg.Concurrency == 0 {
		conns = 256
	}
	// The SDK's buildable client (config adds a CA bundle to it when one is configured); the
	// transports it builds are kept to close their idle connections after the run.
	idle := &idleConns{}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = conns, conns
		idle.add(t)
	})
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithBaseEndpoint(cfg.Endpoint),
		config.WithCredentialsProvider(creds),
		config.WithHTTPClient(httpClient),
		// Only what the load is told: no shared config or credentials files.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
	if cfg.MaxAttempts > 0 {
		opts = append(opts, config.WithRetryMaxAttempts(cfg.MaxAttempts))
	}
	switch cfg.retryer() {
	case RetryerTollgate:
		tg, err := middleware.New(middleware.Config{
			Limiter:  cfg.Limiter,
			Policy:   backoff.Policy{MaxAttempts: cfg.MaxAttempts},
			Observer: cfg.Observer,
			Seed:     cfg.Seed + 1,
		})
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		opts = append(opts, middleware.WithTollgate(tg))
	case RetryerAdaptive:
		// Every client builds its own adaptive retryer, as with AWS_RETRY_MODE=adaptive.
		opts = append(opts, config.WithRetryMode(aws.RetryModeAdaptive))
	}
	if rec != nil {
		opts = append(opts, config.WithAPIOptions([]func(*smithymiddleware.Stack) error{countAttempts}))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load: AWS config: %w", err)
	}
	mp := cfg.MeterProvider
	return &clients{
		idle: idle,
		ec2:  ec2.NewFromConfig(awsCfg, func(o *ec2.Options) { setMeter(&o.MeterProvider, mp) }),
		s3: s3.NewFromConfig(awsCfg, func(o *s3.Options) {
			o.UsePathStyle = true // the emulator serves path-style only
			setMeter(&o.MeterProvider, mp)
		}),
		ddb:    dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { setMeter(&o.MeterProvider, mp) }),
		kms:    kms.NewFromConfig(awsCfg, func(o *kms.Options) { setMeter(&o.MeterProvider, mp) }),
		lambda: lambda.NewFromConfig(awsCfg, func(o *lambda.Options) { setMeter(&o.MeterProvider, mp) }),
		sts:    sts.NewFromConfig(awsCfg, func(o *sts.Options) { setMeter(&o.MeterProvider, mp) }),
	}, nil
}

func setMeter(dst *smithymetrics.MeterProvider, mp smithymetrics.MeterProvider) {
	if mp != nil {
		*dst = mp
	}
}

// idleConns remembers the transports a client built, to close their idle connections.
type idleConns struct {
	mu sync.Mutex
	ts []*http.Transport
}

func (c *idleConns) add(t *http.Transport) {
	c.mu.Lock()
	c.ts = append(c.ts, t)
	c.mu.Unlock()
}

func (c *idleConns) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.ts {
		t.CloseIdleConnections()
	}
}
