package simulate

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// Attempts sleeping in the SDK's adaptive bucket (shared wake-ups) leave at their call's
// deadline, exactly then, and every call ends once: an open loop at 10 times the rate the
// bucket settles at, with 2 s deadlines, so that most calls sleep until they time out.
func TestSleepersTimeOutAtTheirDeadline(t *testing.T) {
	const timeout = 2 * time.Second
	s := &Scenario{Name: "sleepers", Duration: 30 * time.Second, Seed: 3, Runs: 1,
		Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 200, Timeout: timeout, Jitter: 2 * time.Millisecond,
			Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	c, err := compile(s)
	if err != nil {
		t.Fatal(err)
	}
	var started, finished, timedOut, late int
	obs := event.ObserverFunc(func(ev event.Event) {
		switch ev.Kind {
		case event.CallStarted:
			started++
		case event.CallFinished:
			finished++
			if ev.Reason == "deadline" {
				timedOut++
				if ev.Duration != timeout {
					late++
				}
			}
		}
	})
	r := runScenario(context.Background(), c, &SDKAdaptive{}, 1, obs, newGuard("sleepers", Limits{}, 1))
	if r.err != nil {
		t.Fatal(r.err)
	}
	cnt, _ := r.groups[0].total()
	if started != finished || uint64(finished) != cnt.Requests || cnt.Requests != cnt.Successes+cnt.GiveUps {
		t.Errorf("%d calls started, %d finished; counters %+v", started, finished, cnt)
	}
	if timedOut < started/2 || uint64(timedOut) != cnt.TimedOut {
		t.Errorf("%d of %d calls timed out (counters: %d): the workload does not test sleepers' deadlines", timedOut, started, cnt.TimedOut)
	}
	if late > 0 {
		t.Errorf("%d calls timed out at another time than their deadline", late)
	}
}

// tollgate-oracle is handed the server's rules and, as rules of their own, the capacity steps in
// force from the start; later steps and outages stay the server's secret.
func TestOracleRules(t *testing.T) {
	s := &Scenario{Name: "o", Duration: time.Minute, Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 1,
		Operations: []Operation{{Service: "STS", Operation: "AssumeRole"}}}},
		Server: ServerSpec{Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{
			{Service: "STS", Operation: "AssumeRole", Rate: 10, Burst: 10},
			{Service: "STS", Operation: "AssumeRole", Start: 30 * time.Second, Rate: 5, Burst: 5},
			{Service: "Lambda", Start: 10 * time.Second, Rate: 1, Burst: 1},
		}}}}
	c, err := compile(s)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.oracle.Match("STS", "AssumeRole", "us-east-1")
	if !ok || r.Rate != 10 || r.Burst != 10 {
		t.Errorf("oracle's AssumeRole rule %+v, %v; want 10/s, 10", r, ok)
	}
	if r, ok := c.oracle.Match("Lambda", "Invoke", "us-east-1"); ok && r.Rate == 1 {
		t.Errorf("a step from 10 s on was handed to the oracle: %+v", r)
	}
	if len(c.oracle) != len(limiter.DefaultRules())+1 {
		t.Errorf("oracle has %d rules, want the %d defaults and one step", len(c.oracle), len(limiter.DefaultRules()))
	}
}

// With a wake-up quantum, a sleeping adaptive attempt wakes at the end of the quantum its
// computed instant falls in: never earlier than the SDK's sleep, less than a quantum later, and
// sleepers whose instants share a quantum wake at the same instant (and race). Without one, it
// wakes at the instant the SDK computed.
func TestAdaptiveWakeQuantum(t *testing.T) {
	const q = 100 * time.Microsecond
	created := Epoch
	exact := (&SDKAdaptive{}).NewClient(ClientEnv{Created: created}).(*adaptiveClient)
	quant := (&SDKAdaptive{WakeQuantum: q}).NewClient(ClientEnv{Created: created}).(*adaptiveClient)
	now := created.Add(time.Second)
	for _, c := range []*adaptiveClient{exact, quant} {
		c.rate.Update(now, true) // the first throttle turns the limiter on
	}
	wakes := map[time.Time]int{}
	for i := range 200 {
		at := now.Add(time.Duration(i) * 37 * time.Microsecond)
		e, qa := exact.Admit(at, nil), quant.Admit(at, nil)
		if e.Wait == 0 {
			continue // a token was free: taken by both
		}
		if !e.Shared || !qa.Shared || qa.Wait < e.Wait || qa.Wait-e.Wait >= q {
			t.Fatalf("at %v: exact wait %v, quantised %v (shared %v %v): want at least the SDK's, less than %v more", at.Sub(now), e.Wait, qa.Wait, e.Shared, qa.Shared, q)
		}
		wake := at.Add(qa.Wait)
		if wake.Sub(Epoch)%q != 0 {
			t.Fatalf("at %v: wakes at %v, not on a %v boundary", at.Sub(now), wake.Sub(Epoch), q)
		}
		wakes[wake]++
	}
	shared := 0
	for _, n := range wakes {
		if n > 1 {
			shared += n
		}
	}
	if len(wakes) == 0 || shared == 0 {
		t.Errorf("%d wake-up instants, %d sleepers sharing one: the test does not exercise the quantum", len(wakes), shared)
	}
}
