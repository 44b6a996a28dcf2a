package load_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/load"
)

// Rates that are not numbers of calls per second are refused before anything runs.
func TestRunRefusesBadRates(t *testing.T) {
	for _, rate := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1} {
		_, err := load.Run(context.Background(), load.Config{Endpoint: "http://127.0.0.1:1", Duration: time.Second, Rate: rate})
		if err == nil || !strings.Contains(err.Error(), "load: rate must be a finite number >= 0") {
			t.Errorf("rate %v: %v", rate, err)
		}
	}
}

// At a rate far beyond what can be started (1e9/s), the open loop starts what the in-flight cap
// allows, counts every other call the rate asked for as dropped (Offered = calls + Dropped),
// and stops as soon as its context is cancelled, however many calls are due.
func TestOpenLoopAtAHugeRateStopsAndCounts(t *testing.T) {
	e := startEmulator(t, limiter.DefaultRules())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var finished atomic.Int64
	obs := event.ObserverFunc(func(ev event.Event) {
		if ev.Kind == event.CallFinished && finished.Add(1) == 200 {
			cancel() // as SIGINT would
		}
	})
	rep, err := load.Run(ctx, load.Config{Endpoint: e.URL() + "?X-Amz-Signature=SECRETSIG", Duration: time.Hour, Rate: 1e9, Concurrency: 50,
		Mix: []load.Op{{Service: "sts", Operation: "GetCallerIdentity", Weight: 1}}, Observer: obs, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("the run ended before it was cancelled")
	}
	if rep.Seconds > 600 {
		t.Fatalf("the run went on for %.0fs", rep.Seconds)
	}
	if rep.Dropped == 0 || rep.Offered != int64(rep.Total.Calls)+rep.Dropped || rep.InFlight != 50 {
		t.Fatalf("offered %d, started %d, dropped %d (cap %d): want offered = started + dropped", rep.Offered, rep.Total.Calls, rep.Dropped, rep.InFlight)
	}
	if strings.Contains(rep.Endpoint, "SECRETSIG") {
		t.Fatalf("the report quotes a signature: %s", rep.Endpoint)
	}
	var b strings.Builder
	if err := rep.Write(&b, "table"); err != nil || !strings.Contains(b.String(), "calls the rate asked for not started") {
		t.Fatalf("the table does not report the dropped calls: %v\n%s", err, b.String())
	}
	t.Logf("offered %d, started %d, dropped %d in %.2fs", rep.Offered, rep.Total.Calls, rep.Dropped, rep.Seconds)
}
