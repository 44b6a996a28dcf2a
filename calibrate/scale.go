package calibrate

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

// headroom is the share of the probe's calls per second a scenario may ask for: beyond it, the
// machine's own latency would grow with the load (the real run's round trips, start times) and
// say more about the machine than about the strategies.
const headroom = 0.25

// attemptsPerCall is the attempts per call demand counts on (retries included).
const attemptsPerCall = 2

// probeMachine measures the calls per second this machine makes: one second of 16 workers
// calling an unthrottled API of an in-process emulator back to back with the SDK's standard
// retryer, no network delay.
func probeMachine(ctx context.Context) (float64, error) {
	sc := &simulate.Scenario{Name: "probe", Duration: time.Second, Seed: 1, Runs: 1,
		Groups: []simulate.Group{{Name: "probe", Loop: simulate.ClosedLoop, Workers: 16, RTT: time.Microsecond,
			Operations: []simulate.Operation{{Service: "STS", Operation: "GetCallerIdentity"}}}}}
	e, err := emulator.New(emulator.Options{})
	if err != nil {
		return 0, err
	}
	if err := e.Listen("127.0.0.1:0"); err != nil {
		return 0, err
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := e.Start(ectx); err != nil {
		e.Close()
		return 0, err
	}
	defer e.Close()
	rr, err := load.RunScenario(ctx, load.ScenarioConfig{Scenario: sc, Endpoint: e.URL(), Retryer: load.RetryerStandard})
	if err != nil {
		return 0, fmt.Errorf("calibrate: probe: %w", err)
	}
	return float64(rr.Calls) / max(rr.Seconds, 1e-3), ctx.Err()
}

// demand is the peak attempts per second s's open loops ask for (their peak rate, times
// attemptsPerCall). Closed loops ask only as fast as their calls end: they slow down with the
// machine rather than overload it, and the simulator runs them with the round trip measured.
func demand(s *simulate.Scenario) float64 {
	d := 0.0
	for _, g := range s.Groups {
		if g.Loop != simulate.OpenLoop {
			continue
		}
		peak := g.Rate
		for _, ph := range g.Phases {
			peak = max(peak, ph.Rate)
		}
		d += peak * attemptsPerCall
	}
	return d
}

// scaleFor returns the factor that brings demand within headroom of probe, 1 if it is.
func scaleFor(probe, demand float64) float64 {
	if demand <= 0 || demand <= headroom*probe {
		return 1
	}
	f := headroom * probe / demand
	// Two significant digits, rounded down.
	inv := math.Pow(10, 1-math.Floor(math.Log10(f)))
	return math.Max(math.Floor(f*inv)/inv, 1e-3)
}

func scaledWhat(f float64) string {
	return fmt.Sprintf("scaled by %g: open-loop rates, the server's rules and capacity steps (rates and bursts), and tollgate's rules", f)
}

// scaleScenario returns s with its open-loop rates, its server's rules and capacity steps and
// tollgate's rules (AWS's published quotas, unless the scenario gives its own) multiplied by f:
// the same load relative to the capacity, at a pace the machine can drive.
func scaleScenario(s *simulate.Scenario, f float64) *simulate.Scenario {
	c := copyScenario(s)
	for i := range c.Groups {
		g := &c.Groups[i]
		g.Rate *= f
		for j := range g.Phases {
			g.Phases[j].Rate *= f
		}
	}
	srv := c.Server.Rules
	if srv == nil {
		srv = limiter.DefaultRules()
	}
	c.Server.Rules = scaleRules(srv, f)
	tg := c.TollgateRules
	if tg == nil {
		tg = limiter.DefaultRules()
	}
	c.TollgateRules = scaleRules(tg, f)
	if cs := c.Server.Capacity; cs != nil {
		n := &server.CapacitySchedule{Origin: cs.Origin}
		for _, st := range cs.Steps {
			if !st.Outage {
				st.Rate *= f
				st.Burst = max(int(math.Round(float64(st.Burst)*f)), 1)
			}
			n.Steps = append(n.Steps, st)
		}
		c.Server.Capacity = n
	}
	return c
}

func scaleRules(rs limiter.Rules, f float64) limiter.Rules {
	out := make(limiter.Rules, len(rs))
	for i, r := range rs {
		r.Rate *= f
		r.Burst = max(int(math.Round(float64(r.Burst)*f)), r.Cost, 1)
		out[i] = r
	}
	return out
}
