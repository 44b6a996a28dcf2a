package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/internal/redact"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/metrics/sdkmetrics"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

const loadLong = `Drives real AWS SDK for Go v2 clients, with tollgate installed (or the SDK's standard or
adaptive retryer: --retryer), through a mix of operations at a rate (open loop: evenly spaced or
Poisson arrivals, --arrivals) or a concurrency (closed loop) for a duration, and prints per API:
calls, failures, client-side refusals, attempts, throttled attempts, p50 and p99 latency of the
calls that succeeded and of every call. In rate mode a call that cannot start (--concurrency
calls already in flight) is counted and reported, never silently dropped. Without --endpoint it
starts tollgate's AWS emulator in-process on 127.0.0.1, throttled with AWS's published quotas
(change them with --emulator-rules, add fault windows with --emulator-faults).

With --scenario FILE it runs a simulator scenario instead (the file 'tollgate simulate' reads):
its groups, processes, open or closed loops, timeouts and round trips, the calls the simulator
starts for the same seed, against an in-process emulator configured from the scenario's server
side, and prints per group and API what happened, with the simulator's give-up reasons.

While it runs it serves Prometheus metrics on http://LISTEN/metrics: tollgate's series
(tollgate_*), the SDK's own client metrics (tollgate_sdk_*), the in-process emulator's
(tollgate_emulator_*) and Go runtime metrics. Its URL is the first line on stderr. Point
Prometheus at it and watch the dashboards 'tollgate-live dashboard' writes. Interrupted, it
prints the summary of the calls made so far and exits with status 130.

Without --rate or --concurrency it runs at --rate 100. The default mix is
` + load.DefaultMix + `.
Operations: `

func newLoadCommand() *cobra.Command {
	var (
		endpoint, listen, mixFlag, rulesPath, format, region string
		emuRules, emuFaults, retryer, arrivals, scenario     string
		allowRemote, noTollgate, native                      bool
		duration, maxWait, timeout, emuLatency, emuJitter    time.Duration
		rate                                                 float64
		concurrency, maxAttempts, processes                  int
		redisURL                                             string
		seed                                                 uint64
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "drive real SDK clients with tollgate against the emulator (or an endpoint), serving /metrics",
		Long:  loadLong + strings.Join(load.Operations(), ", "),
		Example: `  tollgate-live load --duration 6s
  tollgate-live load --duration 6s --no-tollgate
  tollgate-live load --duration 6s --retryer adaptive --arrivals poisson
  tollgate-live load --scenario examples/scenarios/calibrate-lambda.yaml --retryer standard
  tollgate-live load --mix ec2:DescribeInstances=5,s3:GetObject=3 --concurrency 32 --format json
  tollgate-live load --duration 10m --rate 150 --listen 127.0.0.1:9464   # for a Grafana dashboard`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if noTollgate {
				if cmd.Flags().Changed("retryer") && retryer != load.RetryerStandard {
					return cli.Usagef("--no-tollgate is --retryer standard; it contradicts --retryer %s", retryer)
				}
				retryer = load.RetryerStandard
			}
			if scenario != "" {
				return runScenarioLoad(cmd, scenarioLoad{path: scenario, retryer: retryer, listen: listen, format: format,
					allowRemote: allowRemote, native: native, seed: seed, duration: duration})
			}
			mix, err := load.ParseMix(mixFlag)
			if err != nil {
				return cli.Usagef("--mix: %v", strings.TrimPrefix(err.Error(), "load: "))
			}
			if rate == 0 && concurrency == 0 {
				rate = 100
			}
			inProcess := endpoint == ""
			if !inProcess && (emuRules != "" || emuFaults != "" || emuLatency != 0 || emuJitter != 0) {
				return cli.Usagef("the --emulator-* flags configure the in-process emulator; they do not apply with --endpoint")
			}
			remote := false
			if !inProcess {
				u, err := url.Parse(endpoint)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return cli.Usagef("--endpoint: want http(s)://host[:port], got %q", redact.String(endpoint))
				}
				if remote = !isLoopbackHost(u.Hostname()); remote && !allowRemote {
					return cli.Usagef("--endpoint %s is not on loopback: pass --allow-remote to load it (with your AWS credentials)", redact.String(endpoint))
				}
			}
			if listen != "none" {
				if err := emulator.CheckListenAddr(listen, allowRemote); err != nil {
					return cli.Usagef("--listen: %v", strings.TrimPrefix(err.Error(), "emulator: "))
				}
			}

			// Client-side limiter rules.
			clientRules := limiter.DefaultRules()
			switch rulesPath {
			case "none":
				clientRules = nil
			case "":
			default:
				rs, err := simulate.LoadRules(rulesPath) // bounded: a regular file of at most 1 MiB
				if err != nil {
					return err
				}
				clientRules = server.MergeRules(limiter.DefaultRules(), rs)
			}
			if !cmd.Flags().Changed("redis-url") {
				redisURL = os.Getenv(fleet.URLEnv)
			}
			if redisURL != "" && (retryer != load.RetryerTollgate || clientRules == nil) {
				return cli.Usagef("--redis-url (or %s) shares tollgate's limiter buckets among the processes: it needs tollgate and its limiter (not --no-tollgate or --retryer %s, not --rules none)", fleet.URLEnv, retryer)
			}

			// Metrics: tollgate's, the SDK's, the Go runtime's, and the in-process emulator's.
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			col, err := metrics.Register(reg, metrics.Options{Rules: clientRules, NativeHistograms: native})
			if err != nil {
				return err
			}
			mp, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{NativeHistograms: native})
			if err != nil {
				return err
			}
			gatherers := prometheus.Gatherers{reg}

			// One limiter per process; with a fleet store, each process its own connection.
			fl, err := newLoadFleet(redisURL, processes, clientRules, maxWait, retryer == load.RetryerTollgate, col, stderr)
			if err != nil {
				return err
			}
			defer fl.close(stderr)

			target := endpoint
			if inProcess {
				e, err := startLoadEmulator(ctx, emuRules, emuFaults, emuLatency, emuJitter, seed)
				if err != nil {
					return err
				}
				defer e.Close()
				target = e.URL()
				gatherers = append(gatherers, e.Gatherer())
			}

			if listen != "none" {
				stopServing, metricsURL, err := serveMetrics(listen, gatherers, stderr)
				if err != nil {
					return err
				}
				defer stopServing()
				fmt.Fprintf(stderr, "tollgate-live load: metrics on %s\n", metricsURL)
			}
			what := "tollgate"
			if retryer != load.RetryerTollgate {
				what = "the SDK's " + retryer + " retryer (no tollgate)"
			}
			mode := fmt.Sprintf("%g calls/s (%s arrivals)", rate, arrivals)
			if rate == 0 {
				mode = fmt.Sprintf("%d workers", concurrency)
			}
			if processes > 1 {
				what = fmt.Sprintf("%d processes, each with %s", processes, what)
			}
			if fl.store != "" {
				what += ", sharing their buckets through " + fl.store
			}
			fmt.Fprintf(stderr, "tollgate-live load: %s against %s at %s for %v with %s\n", mixFlag, redact.String(target), mode, duration, what)

			cfg := load.Config{
				Endpoint: target, Region: region, Mix: mix, Duration: duration, Rate: rate, Concurrency: concurrency,
				Timeout: timeout, Retryer: retryer, Arrivals: arrivals, Limiters: fl.limiters, MaxAttempts: maxAttempts,
				Observer: col, MeterProvider: mp, Seed: seed, Processes: processes, Store: fl.store,
			}
			if remote {
				// A real endpoint needs real credentials: the SDK's default chain (environment, shared
				// files, instance role). Loopback endpoints get static test credentials.
				awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
				if err != nil {
					return fmt.Errorf("AWS credentials for %s: %w", redact.String(endpoint), err)
				}
				cfg.Credentials = awsCfg.Credentials
			}
			cfg.Progress, err = loadProgress(stderr, duration)
			if err != nil {
				return err
			}
			rep, err := load.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if cfg.Progress != nil {
				fmt.Fprintln(stderr)
			}
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "tollgate-live load: interrupted; summary of the calls made so far:")
			}
			if err := rep.Write(stdout, format); err != nil {
				return err
			}
			return ctx.Err() // interrupted: exit status 130 after the summary
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint", "", "endpoint `URL` to load (default: an in-process emulator on 127.0.0.1)")
	f.BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --endpoint or --listen; with a remote endpoint, use the default AWS credential chain (real accounts: mind your bill and quotas)")
	f.StringVar(&listen, "listen", "127.0.0.1:9464", "address to serve /metrics on, `HOST:PORT` (port 0 picks a free one; \"none\" to not serve)")
	cli.DurationVar(f, &duration, "duration", time.Minute, cli.Above(time.Duration(0)), "how long to start calls for")
	cli.FloatVar(f, &rate, "rate", 0, cli.AtLeast(0.0), "calls started per second (open loop; default 100 when --concurrency is not set)")
	cli.IntVar(f, &concurrency, "concurrency", 0, cli.Between(0, maxConcurrency), "workers making calls back to back (closed loop); with --rate, the cap on calls in flight (default 1000)")
	f.StringVar(&mixFlag, "mix", load.DefaultMix, "operations and weights, `service:Operation=weight,...`")
	f.StringVar(&rulesPath, "rules", "", "tollgate's client-side limiter rules `FILE` (YAML or JSON), merged over the defaults; \"none\" for no limiter (default: limiter.DefaultRules, AWS's published quotas)")
	cli.DurationVar(f, &maxWait, "max-wait", 0, cli.AtLeast(time.Duration(0)), "longest an attempt may wait for a limiter token before tollgate refuses it (0: up to the call's deadline)")
	cli.DurationVar(f, &timeout, "timeout", 10*time.Second, cli.AtLeast(time.Duration(0)), "deadline of each call (0: none)")
	cli.IntVar(f, &maxAttempts, "max-attempts", 0, cli.AtLeast(0), "maximum attempts per call (0: each service's SDK default: 3, DynamoDB 4)")
	f.BoolVar(&noTollgate, "no-tollgate", false, "use the SDK's standard retryer instead of tollgate, to compare (--retryer standard)")
	cli.EnumVar(cmd, &retryer, "retryer", load.RetryerTollgate, load.Retryers, "what retries the calls: the SDK's standard or adaptive retry mode, or tollgate")
	cli.EnumVar(cmd, &arrivals, "arrivals", load.ArrivalsEven, load.ArrivalKinds, "rate mode: calls evenly spaced, or a Poisson process (exponential gaps, as the simulator's open loops)")
	f.StringVar(&scenario, "scenario", "", "run the simulator scenario `FILE` (its groups, loops, timeouts, round trips and server side) instead of a mix")
	cli.IntVar(f, &processes, "processes", 1, cli.Between(1, 1000), "independent client processes in this one, each with its own SDK clients and tollgate, calls spread over them at random (a fleet's pods)")
	f.StringVar(&redisURL, "redis-url", "", "share the processes' limiter buckets (every unpartitioned rule's) through the Redis at `URL`: redis://[user:password@]host:port[/db], rediss:// for TLS (default: $"+fleet.URLEnv+"; none when unset)")
	cli.FormatVar(cmd, &format, "the summary")
	cli.SeedVar(f, &seed, 1, "seed for the mix, the keys, tollgate's jitter and the emulator")
	f.StringVar(&region, "region", "us-east-1", "AWS Region of the clients")
	f.BoolVar(&native, "native-histograms", false, "also expose native histograms (needs Prometheus >= 2.45 to keep the classic buckets the dashboards use)")
	f.StringVar(&emuRules, "emulator-rules", "", "in-process emulator: throttling rules `FILE` merged over AWS's quotas")
	f.StringVar(&emuFaults, "emulator-faults", "", "in-process emulator: fault schedule `FILE` (YAML windows of throttling or HTTP 500)")
	cli.DurationVar(f, &emuLatency, "emulator-latency", 0, cli.AtLeast(time.Duration(0)), "in-process emulator: latency added to every response")
	cli.DurationVar(f, &emuJitter, "emulator-jitter", 0, cli.AtLeast(time.Duration(0)), "in-process emulator: extra latency drawn from [0, jitter)")
	return cmd
}

// maxConcurrency bounds --concurrency: a call in flight holds an SDK client's state, a
// goroutine and a connection (about 100 KiB together), so ten thousand take about a gigabyte.
const maxConcurrency = 10_000

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startLoadEmulator starts the in-process emulator on a free loopback port.
func startLoadEmulator(ctx context.Context, rulesPath, faultsPath string, latency, jitter time.Duration, seed uint64) (*emulator.Emulator, error) {
	opts := emulator.Options{Latency: latency, LatencyJitter: jitter, Seed: seed}
	if rulesPath != "" {
		rs, err := simulate.LoadRules(rulesPath)
		if err != nil {
			return nil, err
		}
		opts.Rules = server.MergeRules(limiter.DefaultRules(), rs)
	}
	if faultsPath != "" {
		f, err := server.LoadFaults(faultsPath)
		if err != nil {
			return nil, err
		}
		opts.Faults = f
	}
	e, err := emulator.New(opts)
	if err != nil {
		return nil, err
	}
	if err := e.Listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// serveMetrics serves g on http://addr/metrics until stop is called, and returns the URL.
func serveMetrics(addr string, g prometheus.Gatherer, stderr io.Writer) (stop func(), metricsURL string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("metrics listener (choose another with --listen, e.g. 127.0.0.1:0): %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, "tollgate-live load: metrics server:", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, "http://" + ln.Addr().String() + "/metrics", nil
}

// loadProgress returns a progress callback that keeps one status line on stderr when stderr
// is a terminal, and nil otherwise.
func loadProgress(stderr io.Writer, total time.Duration) (func(load.Progress), error) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	var mu sync.Mutex
	return func(p load.Progress) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "\r%4.0fs / %v  calls %d  failed %d  attempts %d  throttled %d   ",
			p.Elapsed.Seconds(), total, p.Calls, p.Failed, p.Attempts, p.Throttled)
	}, nil
}
