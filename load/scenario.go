package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/internal/redact"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

// A scenario run drives a simulator scenario (simulate.Scenario: client groups, processes,
// open or closed loops, timeouts, round trips) in real time with real SDK clients, so that one
// workload definition drives `tollgate simulate`, `tollgate-live load --scenario` and
// `tollgate-live calibrate`. It starts the calls the simulator starts for the same run seed — an
// open loop's arrivals (when, from which process, what) and a closed loop's first start of each
// worker are the simulator's own draws (simulate.Arrivals, simulate.WorkerStarts) — and models the
// network as the simulator does: each group's requests travel |N(rtt/2, jitter)| to the server
// and their answers as long back, in real time, and a call's deadline cancels an attempt in
// flight.
//
// Each process of a group is one set of SDK clients sharing one retryer, as a process is one
// client in the simulator: the SDK's standard retryer (retry.NewStandard: its retry quota shared
// by the process's clients), its adaptive retryer (retry.NewAdaptiveMode: one rate limiter), or
// tollgate's one-line install (middleware.WithTollgate with limiter.New(limiter.DefaultRules()),
// or the scenario's tollgate.rules).

// DefaultMaxInFlight caps the calls a scenario run has in flight when ScenarioConfig.MaxInFlight
// is 0.
const DefaultMaxInFlight = 10_000

// ScenarioConfig configures RunScenario.
type ScenarioConfig struct {
	// Scenario is the workload: its groups, and the seed whose draws are replayed.
	Scenario *simulate.Scenario
	// Endpoint is the server's base URL, normally an emulator made with
	// EmulatorOptions(Scenario). Required.
	Endpoint string
	// Region is the clients' Region when an operation names none; "" means us-east-1.
	Region string
	// Credentials sign the requests; nil means static test credentials.
	Credentials aws.CredentialsProvider
	// Retryer is RetryerTollgate (the default), RetryerStandard or RetryerAdaptive.
	Retryer string
	// Seed is the run seed whose draws the run replays (Scenario.RunSeed(i) for the simulator's
	// run i); 0 means Scenario.RunSeed(0). It also seeds tollgate's jitter and the hops.
	Seed uint64
	// MaxInFlight caps the calls in flight; an open-loop call that would exceed it is not
	// started but counted (ScenarioReport.Dropped). 0 means DefaultMaxInFlight.
	MaxInFlight int
	// Keys is how many S3 objects and DynamoDB items the calls spread over; 0 means 64.
	Keys int
	// Observer receives tollgate's events.
	Observer event.Observer
	// OnStart, if not nil, is called with the instant the workload starts (offset 0 of the
	// scenario), after the setup calls: give it to the emulator's SetOrigin so that fault
	// windows and capacity steps count from it.
	OnStart func(time.Time)
	// Progress, if not nil, is called about once a second with the counts so far.
	Progress func(Progress)
}

// scenarioOp is one operation of a group, ready to call.
type scenarioOp struct {
	op     operation
	target target
	region string
	key    OpKey
}

// scenarioVariant is one operation with one prefix, and its share of the group's calls.
type scenarioVariant struct {
	op     int
	prefix string
	cum    float64
}

// process is one client process of a scenario run: its clients, per Region.
type process struct {
	byRegion map[string]*clients
}

// RunScenario runs cfg.Scenario's workload in real time and returns what happened, per group and
// API. Setup calls (objects to get, items to read) are made first, without retries or hops; the
// workload starts after them. When ctx is done it stops starting calls, waits for the calls in
// flight (their contexts end with ctx) and returns the report so far.
func RunScenario(ctx context.Context, cfg ScenarioConfig) (*ScenarioReport, error) {
	rep, err := runScenario(ctx, cfg)
	return rep, redact.Error(err)
}

func runScenario(ctx context.Context, cfg ScenarioConfig) (*ScenarioReport, error) {
	sc := cfg.Scenario
	switch {
	case sc == nil:
		return nil, errors.New("load: no scenario")
	case cfg.Endpoint == "":
		return nil, errors.New("load: no endpoint")
	case cfg.MaxInFlight < 0 || cfg.Keys < 0:
		return nil, errors.New("load: max in flight and keys must not be negative")
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	retryer, err := retryerKind(cfg.Retryer)
	if err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = sc.RunSeed(0)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Keys == 0 {
		cfg.Keys = 64
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = credentials.NewStaticCredentialsProvider("test", "test", "")
	}

	// What each group calls.
	ops := make([][]scenarioOp, len(sc.Groups))
	variants := make([][]scenarioVariant, len(sc.Groups))
	var setupOps []operation
	var setupTargets []target
	for gi, g := range sc.Groups {
		total := 0.0
		for oi, o := range g.Operations {
			op, ok := lookup(o.Service, o.Operation)
			if !ok {
				return nil, fmt.Errorf("load: scenario %q: group %q: operation %s %s: a real run cannot call it (supported: %s)",
					sc.Name, g.Name, o.Service, o.Operation, strings.Join(Operations(), ", "))
			}
			r := o.Region
			if r == "" {
				r = region
			}
			t := target{bucket: o.Resource, table: o.Resource, function: o.Resource, unfiltered: o.Unfiltered, units: o.Units}
			if t.bucket == "" {
				t.bucket, t.table, t.function = Bucket, Table, Function
			}
			ops[gi] = append(ops[gi], scenarioOp{op: op, target: t, region: r,
				key: OpKey{Service: o.Service, Operation: o.Operation, Region: r, Resource: o.Resource, Unfiltered: o.Unfiltered}})
			w := o.Weight
			if w == 0 {
				w = 1
			}
			prefixes := o.Prefixes
			if len(prefixes) == 0 {
				prefixes = []string{""}
			}
			for _, p := range prefixes {
				total += w / float64(len(prefixes))
				variants[gi] = append(variants[gi], scenarioVariant{op: oi, prefix: p, cum: total})
				st := t
				st.prefix = p
				setupOps, setupTargets = append(setupOps, op), append(setupTargets, st)
			}
		}
		for i := range variants[gi] {
			variants[gi][i].cum /= total
		}
	}

	// Setup, with a plain client.
	base := func(region string) []func(*config.LoadOptions) error {
		return []func(*config.LoadOptions) error{
			config.WithRegion(region),
			config.WithBaseEndpoint(cfg.Endpoint),
			config.WithCredentialsProvider(creds),
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedCredentialsFiles([]string{}),
		}
	}
	idle := &idleConns{}
	defer idle.close()
	setupCfg, err := config.LoadDefaultConfig(ctx, append(base(region),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(idle.add)))...)
	if err != nil {
		return nil, fmt.Errorf("load: AWS config: %w", err)
	}
	setup := serviceClients(setupCfg, "")
	setup.keys = cfg.Keys
	if err := runSetups(ctx, setup, setupOps, setupTargets); err != nil {
		return nil, err
	}

	// The processes: clients per Region, one retryer each, behind their group's network.
	rules := sc.TollgateRules
	if rules == nil {
		rules = limiter.DefaultRules()
	}
	procs := make([][]process, len(sc.Groups))
	for gi, g := range sc.Groups {
		n := max(g.Processes, 1)
		rtt := g.RTT
		if rtt <= 0 {
			rtt = 20 * time.Millisecond
		}
		for p := range n {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
			idle.add(tr)
			opts, err := retryerOptions(retryer, sc.MaxAttempts, rules, cfg.Observer, cfg.Seed+uint64(gi)<<20+uint64(p)+1)
			if err != nil {
				return nil, err
			}
			opts = append(opts, config.WithAPIOptions([]func(*smithymiddleware.Stack) error{countAttempts}))
			awsCfg, err := config.LoadDefaultConfig(ctx, append(base(region), opts...)...)
			if err != nil {
				return nil, fmt.Errorf("load: AWS config: %w", err)
			}
			// The group's network, in place of the client the config built (a loopback
			// endpoint needs none of its TLS settings).
			awsCfg.HTTPClient = &http.Client{Transport: newHopTransport(tr, rtt, g.Jitter, cfg.Seed^uint64(gi)<<32^uint64(p))}
			pr := process{byRegion: map[string]*clients{}}
			for _, o := range ops[gi] {
				if pr.byRegion[o.region] == nil {
					c := serviceClients(awsCfg, o.region)
					c.keys, c.instanceID, c.ciphertext = cfg.Keys, setup.instanceID, setup.ciphertext
					pr.byRegion[o.region] = c
				}
			}
			procs[gi] = append(procs[gi], pr)
		}
	}

	rec := newScenarioRecorder(sc, ops)
	sem := make(chan struct{}, cfg.MaxInFlight)
	var wg sync.WaitGroup
	var offered, dropped atomic.Int64
	t0 := time.Now()
	if cfg.OnStart != nil {
		cfg.OnStart(t0)
	}
	stopProgress := rec.progress(cfg.Progress, t0)
	call := func(gi, p, vi int, n int) {
		defer func() { <-sem; wg.Done() }()
		v := variants[gi][vi]
		o := ops[gi][v.op]
		cctx := ctx
		if to := sc.Groups[gi].Timeout; to > 0 {
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(ctx, to)
			defer cancel()
		}
		cs := &callStats{t0: t0}
		cctx = context.WithValue(cctx, callKey{}, cs)
		t := o.target
		t.prefix = v.prefix
		start := time.Now()
		err := o.op.call(cctx, procs[gi][p].byRegion[o.region], t, n)
		end := time.Now()
		rec.record(gi, v.op, cs, start.Sub(t0), end.Sub(t0), err, cctx.Err())
	}
	for gi, g := range sc.Groups {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(gi)+0x7363))
		switch g.Loop {
		case simulate.OpenLoop:
			arrivals, err := simulate.Arrivals(sc, gi, cfg.Seed)
			if err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				timer := time.NewTimer(0)
				defer timer.Stop()
				for _, a := range arrivals {
					timer.Reset(time.Until(t0.Add(a.At)))
					select {
					case <-timer.C:
					case <-ctx.Done():
						return
					}
					offered.Add(1)
					rec.late(time.Since(t0.Add(a.At)))
					vi := variantOf(variants[gi], a.Operation, a.Prefix)
					select {
					case sem <- struct{}{}:
						wg.Add(1)
						go call(gi, a.Process, vi, rng.IntN(1<<30))
					default:
						dropped.Add(1)
						rec.drop(gi, variants[gi][vi].op)
					}
				}
			}()
		case simulate.ClosedLoop:
			starts, err := simulate.WorkerStarts(sc, gi, cfg.Seed)
			if err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
			stop := g.Stop
			if stop <= 0 || stop > sc.Duration {
				stop = sc.Duration
			}
			workers := max(g.Workers, 1)
			for w, at := range starts {
				if at >= stop {
					continue
				}
				wr := rand.New(rand.NewPCG(cfg.Seed, uint64(gi)<<32|uint64(w)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					if sleepCtx(ctx, time.Until(t0.Add(at))) != nil {
						return
					}
					for ctx.Err() == nil {
						vi := pickScenarioVariant(variants[gi], wr)
						sem <- struct{}{}
						wg.Add(1)
						call(gi, w/workers, vi, wr.IntN(1<<30))
						next := time.Since(t0) + g.Think
						if next >= stop || sleepCtx(ctx, g.Think) != nil {
							return
						}
					}
				}()
			}
		}
	}
	wg.Wait()
	elapsed := time.Since(t0)
	stopProgress()
	return rec.report(cfg, retryer, elapsed, offered.Load(), dropped.Load()), nil
}

// variantOf returns the index of the variant of operation op with prefix.
func variantOf(vs []scenarioVariant, op int, prefix string) int {
	for i, v := range vs {
		if v.op == op && v.prefix == prefix {
			return i
		}
	}
	return 0
}

// pickScenarioVariant draws a variant by the weights.
func pickScenarioVariant(vs []scenarioVariant, r *rand.Rand) int {
	if len(vs) == 1 {
		return 0
	}
	x := r.Float64()
	for i, v := range vs {
		if x < v.cum {
			return i
		}
	}
	return len(vs) - 1
}

// serviceClients builds the six service clients from cfg, in region ("" for cfg's).
func serviceClients(cfg aws.Config, region string) *clients {
	if region != "" {
		cfg.Region = region
	}
	return &clients{
		ec2:    ec2.NewFromConfig(cfg),
		s3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		ddb:    dynamodb.NewFromConfig(cfg),
		kms:    kms.NewFromConfig(cfg),
		lambda: lambda.NewFromConfig(cfg),
		sts:    sts.NewFromConfig(cfg),
	}
}

// retryerOptions returns the config options that give a process its retryer: one retryer for
// every client of the process (the SDK's standard or adaptive mode), or tollgate's one-line
// install with a limiter of rules.
func retryerOptions(kind string, maxAttempts int, rules limiter.Rules, obs event.Observer, seed uint64) ([]func(*config.LoadOptions) error, error) {
	attempts := func(o *retry.StandardOptions) {
		if maxAttempts > 0 {
			o.MaxAttempts = maxAttempts
		}
	}
	switch kind {
	case RetryerStandard:
		r := retry.NewStandard(attempts)
		return []func(*config.LoadOptions) error{config.WithRetryer(func() aws.Retryer { return r })}, nil
	case RetryerAdaptive:
		r := retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, attempts)
		})
		return []func(*config.LoadOptions) error{config.WithRetryer(func() aws.Retryer { return r })}, nil
	}
	tg, err := middleware.New(middleware.Config{
		Limiter:  limiter.New(rules),
		Policy:   backoff.Policy{MaxAttempts: maxAttempts},
		Observer: obs,
		Seed:     seed,
	})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return []func(*config.LoadOptions) error{middleware.WithTollgate(tg)}, nil
}

// EmulatorOptions returns the options of an emulator that serves sc's server side: its rules,
// fault windows, capacity steps, S3 partition splits and retry hints. Start the workload's
// clock on it with ScenarioConfig.OnStart (Emulator.SetOrigin).
func EmulatorOptions(sc *simulate.Scenario) (emulator.Options, error) {
	hints, err := server.DefaultHints().With(sc.Server.Hints)
	if err != nil {
		return emulator.Options{}, fmt.Errorf("load: %w", err)
	}
	return emulator.Options{
		Rules:               sc.Server.Rules,
		Faults:              sc.Server.Faults,
		Capacity:            sc.Server.Capacity,
		Hints:               hints,
		PartitionSplitAfter: sc.Server.SplitAfter,
		PartitionSplitDelay: sc.Server.SplitDelay,
		Seed:                sc.Seed,
	}, nil
}
