package load_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// startScenarioEmulator serves sc's server side on a loopback port for the test's lifetime.
func startScenarioEmulator(t *testing.T, sc *simulate.Scenario) *emulator.Emulator {
	t.Helper()
	opts, err := load.EmulatorOptions(sc)
	if err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); e.Close() })
	return e
}

func parseScenario(t *testing.T, yaml string) *simulate.Scenario {
	t.Helper()
	sc, err := simulate.ParseScenario("test.yaml", []byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// A scenario run starts the simulator's calls (the same arrivals, from the same processes),
// against an emulator with the scenario's server side (here a capacity step), and reports what
// the server saw: every attempt it answered, throttled or not.
func TestScenarioRunStartsTheSimulatorsCalls(t *testing.T) {
	sc := parseScenario(t, `
name: open
duration: 3s
seed: 5
server:
  capacity:
    - {service: EC2, operation: DescribeInstances, start: 0s, rate: 10, burst: 10}
groups:
  - name: pollers
    loop: open
    rate: 40
    processes: 2
    rtt: 10ms
    timeout: 5s
    operations:
      - {service: EC2, operation: DescribeInstances}
      - {service: STS, operation: GetCallerIdentity, weight: 0.25}
`)
	e := startScenarioEmulator(t, sc)
	rep, err := load.RunScenario(context.Background(), load.ScenarioConfig{Scenario: sc, Endpoint: e.URL(),
		Retryer: load.RetryerStandard, Seed: sc.RunSeed(0), OnStart: e.SetOrigin})
	if err != nil {
		t.Fatal(err)
	}
	arr, err := simulate.Arrivals(sc, 0, sc.RunSeed(0))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Offered != int64(len(arr)) || rep.Calls != len(arr) || rep.Dropped != 0 {
		t.Errorf("offered %d, started %d, dropped %d: want the simulator's %d arrivals", rep.Offered, rep.Calls, rep.Dropped, len(arr))
	}
	srv := counters(t, e.Gatherer(), "tollgate_emulator_requests_total", "result")
	served := srv["EC2/DescribeInstances/accepted"] + srv["EC2/DescribeInstances/throttled"]
	var ec2 *load.OperationStats
	for i := range rep.Operations {
		if rep.Operations[i].Operation == "DescribeInstances" {
			ec2 = &rep.Operations[i]
		}
	}
	if ec2 == nil || float64(ec2.Attempts) != served || ec2.Throttled == 0 ||
		float64(ec2.Throttled) != srv["EC2/DescribeInstances/throttled"] {
		t.Fatalf("EC2 row %+v; the emulator served %v", ec2, served)
	}
	if rep.Succeeded+rep.Failed() != rep.Calls || rep.Failed() == 0 {
		t.Errorf("%d calls: %d succeeded, %d failed (%s)", rep.Calls, rep.Succeeded, rep.Failed(), rep.Groups[0].Group)
	}
	if rep.RTTP50Ms < 10 {
		t.Errorf("round trip p50 %.1f ms, want at least the scenario's 10 ms", rep.RTTP50Ms)
	}
	var b strings.Builder
	if err := rep.Write(&b, "table"); err != nil || !strings.Contains(b.String(), "EC2 DescribeInstances") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
}

// A deadline shorter than the round trip cancels every attempt in flight: each call gives up
// with deadline_in_flight; a request cancelled on its way never reaches the server.
func TestScenarioDeadlinesCancelAttemptsInFlight(t *testing.T) {
	sc := parseScenario(t, `
name: slow
duration: 1s
groups:
  - name: g
    loop: closed
    workers: 4
    think: 50ms
    rtt: 400ms
    timeout: 100ms
    operations:
      - {service: STS, operation: GetCallerIdentity}
`)
	e := startScenarioEmulator(t, sc)
	rep, err := load.RunScenario(context.Background(), load.ScenarioConfig{Scenario: sc, Endpoint: e.URL(), Retryer: load.RetryerTollgate})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calls == 0 || rep.DeadlineInFlight != rep.Calls || rep.Attempts != rep.Calls {
		t.Fatalf("%d calls, %d attempts, %d cancelled in flight: want every call's one attempt cancelled", rep.Calls, rep.Attempts, rep.DeadlineInFlight)
	}
	if got := counters(t, e.Gatherer(), "tollgate_emulator_requests_total", "result")["STS/GetCallerIdentity/accepted"]; got != 0 {
		t.Errorf("the server saw %v requests cancelled on their way", got)
	}
}
