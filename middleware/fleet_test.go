package middleware

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/fleet/fleetredis"
	"github.com/tollgate/tollgate/internal/redistest"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// timedStore is the fleet's limiter.Store, timing every decision the limiter asks it for: the
// only place a call could wait on Redis.
type timedStore struct {
	*fleet.Store
	slowest atomic.Int64 // ns
}

func (s *timedStore) Reserve(now time.Time, b *limiter.SharedBucket, n float64, maxWait time.Duration, again, queued bool) limiter.StoreDecision {
	start := time.Now()
	d := s.Store.Reserve(now, b, n, maxWait, again, queued)
	took := int64(time.Since(start))
	for {
		old := s.slowest.Load()
		if took <= old || s.slowest.CompareAndSwap(old, took) {
			break
		}
	}
	return d
}

// fanOut sends every event to each observer.
type fanOut []event.Observer

func (f fanOut) Observe(e event.Event) {
	for _, o := range f {
		o.Observe(e)
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFleetStoreKilledAndRestartedWithSDKClients: four processes — each its own EC2 client,
// Tollgate, limiter and fleet connection, as the README's fleet install builds them — call
// DescribeInstances on the emulator at twice the bucket's 20/s, sharing the bucket through a
// real redis-server. The server is killed at 2 s and restarted empty at 4 s. Calls go on
// through the local fallback while it is down, no decision waits on the dead server longer
// than the store timeout, the processes lease from it again once it is back, and events,
// metrics and logs say so.
func TestFleetStoreKilledAndRestartedWithSDKClients(t *testing.T) {
	redis.SetLogger(quietRedis{}) // go-redis's own dial errors while the server is down
	srv := redistest.Start(t)
	emu := startEmulator(t, emulator.Options{Seed: 1})
	const (
		procs   = 4
		rate    = 40.0 // calls per second, the whole fleet
		timeout = 50 * time.Millisecond
	)
	reg := prometheus.NewRegistry()
	col, err := metrics.Register(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	obs := fanOut{rec, col}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))

	type process struct {
		fl     *fleet.Client
		store  *timedStore
		client *ec2.Client
	}
	ps := make([]process, procs)
	for i := range ps {
		fl, err := fleetredis.Dial("redis://"+srv.Addr(), fleet.Options{Timeout: timeout, Observer: obs, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		st := &timedStore{Store: fl.Store(fleet.StoreOptions{})}
		tg := mustNew(t, Config{Limiter: limiter.New(limiter.DefaultRules(), limiter.WithStore(st)), Observer: obs, Seed: uint64(i) + 1})
		client := ec2.NewFromConfig(awsConfig(emu.URL(), nil), func(o *ec2.Options) {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		})
		ps[i] = process{fl, st, client}
	}
	defer func() {
		for _, p := range ps {
			p.fl.Close(context.Background())
		}
	}()

	var (
		mu        sync.Mutex
		successes []time.Duration // when calls succeeded, from the start
		failures  = map[string]int{}
	)
	start := time.Now()
	time.AfterFunc(2*time.Second, srv.Kill)
	restarted := make(chan struct{})
	time.AfterFunc(4*time.Second, func() { srv.Restart(); close(restarted) })
	end := start.Add(8 * time.Second)
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / (rate / procs)))
			defer tick.Stop()
			var calls sync.WaitGroup
			for now := range tick.C {
				if now.After(end) {
					break
				}
				calls.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_, err := p.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
					mu.Lock()
					defer mu.Unlock()
					var refused *limiter.RefusedError
					switch {
					case err == nil:
						successes = append(successes, time.Since(start))
					case errors.As(err, &refused):
						failures["refused "+refused.Reason.String()]++
					default:
						failures[err.Error()]++
					}
				})
			}
			calls.Wait()
		})
	}
	wg.Wait()
	<-restarted

	count := func(from, to time.Duration) int {
		n := 0
		for _, s := range successes {
			if s >= from && s < to {
				n++
			}
		}
		return n
	}
	var slowest time.Duration
	for _, p := range ps {
		slowest = max(slowest, time.Duration(p.store.slowest.Load()))
	}
	during, after := count(2500*time.Millisecond, 4*time.Second), count(6*time.Second, 8*time.Second)
	fallbacks, recovered := rec.kinds(event.StoreFallback), rec.kinds(event.StoreRecovered)
	lost := 0
	for _, e := range rec.kinds(event.LeaseRenewed) {
		if e.Reason == "state_lost" {
			lost++
		}
	}
	t.Logf("successes %d (%d in the outage's last 1.5 s, %d in the last 2 s); failures %v; slowest store decision %v (timeout %v); events: %d fallbacks, %d recoveries, %d leases from a store that lost the bucket",
		len(successes), during, after, failures, slowest, timeout, len(fallbacks), len(recovered), lost)

	// Calls kept flowing through the fallback, at about the bucket's rate (20/s: 30 in 1.5 s).
	if during < 20 {
		t.Errorf("%d calls succeeded while redis-server was down (1.5 s at 20/s is 30)", during)
	}
	if after < 30 {
		t.Errorf("%d calls succeeded in the last 2 s, after the restart", after)
	}
	// No decision waited on the dead server beyond the timeout. A loaded machine (-race, other
	// packages' tests on 2 cores) adds scheduling delays of tens, at times hundreds, of
	// milliseconds, hence the margin, which still catches a decision blocked on go-redis's own
	// timeouts (5 s to dial, 3 s to read).
	if slowest > timeout+time.Second {
		t.Errorf("a store decision took %v, past the %v timeout", slowest, timeout)
	}
	// Events: every process fell back and came back; the restart was noticed.
	if len(fallbacks) < procs || len(recovered) < procs || lost == 0 {
		t.Errorf("events: %d fallbacks, %d recoveries, %d state_lost leases; want ≥ %d, ≥ %d, ≥ 1", len(fallbacks), len(recovered), lost, procs, procs)
	}
	for _, e := range fallbacks {
		if e.Service != "EC2" || e.Operation != "DescribeInstances" || e.Reason == "" {
			t.Errorf("fallback event %+v", e)
		}
	}
	// Metrics.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string) float64 {
		total := 0.0
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, m := range mf.GetMetric() {
					total += value(m)
				}
			}
		}
		return total
	}
	if sum(metrics.NameStoreFallbacks) < procs || sum(metrics.NameStoreFallback) != 0 || sum(metrics.NameStoreLost) == 0 {
		t.Errorf("metrics: %s %v, %s %v (want 0: all back), %s %v", metrics.NameStoreFallbacks, sum(metrics.NameStoreFallbacks),
			metrics.NameStoreFallback, sum(metrics.NameStoreFallback), metrics.NameStoreLost, sum(metrics.NameStoreLost))
	}
	// Logs.
	for _, want := range []string{"falling back to a local share", "store reachable again", "had lost this bucket"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line says %q:\n%s", want, logs.String())
		}
	}
}

// quietRedis drops go-redis's log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}
