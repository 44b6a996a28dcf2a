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
	"golang.org/x/term"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/metrics/sdkmetrics"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

func init() {
	register(&command{
		name:    "load",
		summary: "drive real SDK clients with tollgate against the emulator (or an endpoint), serving /metrics",
		run:     runLoad,
	})
}

const loadSynopsis = `load [--mix API=W,...] [--rate N | --concurrency N] [--duration 1m] [--endpoint URL]
              [--listen 127.0.0.1:9464] [--rules FILE|none] [--max-wait D] [--timeout 10s]
              [--no-tollgate] [--format table|json|markdown] [--seed N] [emulator flags]

Drives real AWS SDK for Go v2 clients, with tollgate installed (or, with --no-tollgate, the
SDK's standard retryer), through a mix of operations at a rate (open loop) or a concurrency
(closed loop) for a duration, and prints per API: calls, failures, client-side refusals,
attempts, throttled attempts, p50 and p99 latency. Without --endpoint it starts tollgate's AWS
emulator in-process on 127.0.0.1, throttled with AWS's published quotas (change them with
--emulator-rules, add fault windows with --emulator-faults).

While it runs it serves Prometheus metrics on http://LISTEN/metrics: tollgate's series
(tollgate_*), the SDK's own client metrics (tollgate_sdk_*), the in-process emulator's
(tollgate_emulator_*) and Go runtime metrics. Its URL is the first line on stderr. Point
Prometheus at it and watch the dashboards 'tollgate dashboard' writes.

Without --rate or --concurrency it runs at --rate 100. The default mix is
` + load.DefaultMix + `.
Operations: ` // the list is appended in runLoad

// runLoad runs `tollgate load`.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("load", loadSynopsis+strings.Join(load.Operations(), ", "), stdout)
	endpoint := fs.String("endpoint", "", "endpoint URL to load (default: an in-process emulator on 127.0.0.1)")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback --endpoint or --listen; with a remote endpoint, use the default AWS credential chain (real accounts: mind your bill and quotas)")
	listen := fs.String("listen", "127.0.0.1:9464", `address to serve /metrics on (port 0 picks a free one; "none" to not serve)`)
	duration := fs.Duration("duration", time.Minute, "how long to start calls for")
	rate := fs.Float64("rate", 0, "calls started per second (open loop; default 100 when --concurrency is not set)")
	concurrency := fs.Int("concurrency", 0, "workers making calls back to back (closed loop); with --rate, the cap on calls in flight (default 1000)")
	mixFlag := fs.String("mix", load.DefaultMix, "operations and weights, service:Operation=weight,...")
	rulesPath := fs.String("rules", "", `tollgate's client-side limiter rules (YAML or JSON), merged over the defaults; "none" for no limiter (default: limiter.DefaultRules, AWS's published quotas)`)
	maxWait := fs.Duration("max-wait", 0, "longest an attempt may wait for a limiter token before tollgate refuses it (0: up to the call's deadline)")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of each call (0: none)")
	maxAttempts := fs.Int("max-attempts", 0, "maximum attempts per call (0: the SDK default, 3)")
	noTollgate := fs.Bool("no-tollgate", false, "use the SDK's standard retryer instead of tollgate, to compare")
	format := fs.String("format", "table", "summary format: "+strings.Join(load.Formats, ", "))
	seed := fs.Uint64("seed", 1, "seed for the mix, the keys, tollgate's jitter and the emulator")
	region := fs.String("region", "us-east-1", "AWS Region of the clients")
	native := fs.Bool("native-histograms", false, "also expose native histograms (needs Prometheus >= 2.45 to keep the classic buckets the dashboards use)")
	emuRules := fs.String("emulator-rules", "", "in-process emulator: throttling rules file merged over AWS's quotas")
	emuFaults := fs.String("emulator-faults", "", "in-process emulator: fault schedule file (YAML windows of throttling or HTTP 500)")
	emuLatency := fs.Duration("emulator-latency", 0, "in-process emulator: latency added to every response")
	emuJitter := fs.Duration("emulator-jitter", 0, "in-process emulator: extra latency drawn from [0, jitter)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}

	mix, err := load.ParseMix(*mixFlag)
	if err != nil {
		return usagef("--mix: %v", strings.TrimPrefix(err.Error(), "load: "))
	}
	if *duration <= 0 || *rate < 0 || *concurrency < 0 || *timeout < 0 || *maxWait < 0 || *maxAttempts < 0 || *emuLatency < 0 || *emuJitter < 0 {
		return usagef("--duration must be > 0; --rate, --concurrency, --timeout, --max-wait, --max-attempts and the emulator latencies >= 0")
	}
	if *rate == 0 && *concurrency == 0 {
		*rate = 100
	}
	if !validFormat(*format) {
		return usagef("--format: want one of %s, not %q", strings.Join(load.Formats, ", "), *format)
	}
	inProcess := *endpoint == ""
	if !inProcess && (*emuRules != "" || *emuFaults != "" || *emuLatency != 0 || *emuJitter != 0) {
		return usagef("the --emulator-* flags configure the in-process emulator; they do not apply with --endpoint")
	}
	remote := false
	if !inProcess {
		u, err := url.Parse(*endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--endpoint: want http(s)://host[:port], got %q", *endpoint)
		}
		if remote = !isLoopbackHost(u.Hostname()); remote && !*allowRemote {
			return usagef("--endpoint %s is not on loopback: pass --allow-remote to load it (with your AWS credentials)", *endpoint)
		}
	}
	if *listen != "none" {
		if err := emulator.CheckListenAddr(*listen, *allowRemote); err != nil {
			return usagef("--listen: %v", strings.TrimPrefix(err.Error(), "emulator: "))
		}
	}

	// Client-side limiter rules.
	var lim *limiter.Limiter
	clientRules := limiter.DefaultRules()
	switch *rulesPath {
	case "none":
		clientRules = nil
	case "":
	default:
		rs, err := limiter.LoadRules(*rulesPath)
		if err != nil {
			return err
		}
		clientRules = server.MergeRules(limiter.DefaultRules(), rs)
	}
	if clientRules != nil && !*noTollgate {
		var opts []limiter.Option
		if *maxWait > 0 {
			opts = append(opts, limiter.WithMaxWait(*maxWait))
		}
		lim = limiter.New(clientRules, opts...)
	}

	// Metrics: tollgate's, the SDK's, the Go runtime's, and the in-process emulator's.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	col, err := metrics.Register(reg, metrics.Options{Rules: clientRules, NativeHistograms: *native})
	if err != nil {
		return err
	}
	mp, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{NativeHistograms: *native})
	if err != nil {
		return err
	}
	gatherers := prometheus.Gatherers{reg}

	target := *endpoint
	if inProcess {
		e, err := startLoadEmulator(ctx, *emuRules, *emuFaults, *emuLatency, *emuJitter, *seed)
		if err != nil {
			return err
		}
		defer e.Close()
		target = e.URL()
		gatherers = append(gatherers, e.Gatherer())
	}

	if *listen != "none" {
		stopServing, metricsURL, err := serveMetrics(*listen, gatherers, stderr)
		if err != nil {
			return err
		}
		defer stopServing()
		fmt.Fprintf(stderr, "tollgate load: metrics on %s\n", metricsURL)
	}
	what := "tollgate"
	if *noTollgate {
		what = "the SDK's standard retryer (no tollgate)"
	}
	mode := fmt.Sprintf("%g calls/s", *rate)
	if *rate == 0 {
		mode = fmt.Sprintf("%d workers", *concurrency)
	}
	fmt.Fprintf(stderr, "tollgate load: %s against %s at %s for %v with %s\n", *mixFlag, target, mode, *duration, what)

	cfg := load.Config{
		Endpoint: target, Region: *region, Mix: mix, Duration: *duration, Rate: *rate, Concurrency: *concurrency,
		Timeout: *timeout, NoTollgate: *noTollgate, Limiter: lim, MaxAttempts: *maxAttempts,
		Observer: col, MeterProvider: mp, Seed: *seed,
	}
	if remote {
		// A real endpoint needs real credentials: the SDK's default chain (environment, shared
		// files, instance role). Loopback endpoints get static test credentials.
		awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(*region))
		if err != nil {
			return fmt.Errorf("AWS credentials for %s: %w", *endpoint, err)
		}
		cfg.Credentials = awsCfg.Credentials
	}
	cfg.Progress, err = loadProgress(stderr, *duration)
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
		fmt.Fprintln(stderr, "tollgate load: interrupted; summary of the calls made so far:")
	}
	return rep.Write(stdout, *format)
}

func validFormat(f string) bool {
	for _, v := range load.Formats {
		if v == f {
			return true
		}
	}
	return false
}

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
		rs, err := emulator.LoadRules(rulesPath)
		if err != nil {
			return nil, err
		}
		opts.Rules = rs
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
			fmt.Fprintln(stderr, "tollgate load: metrics server:", err)
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
