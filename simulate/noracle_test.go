package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/server"
)

// describe is an open-loop group calling DescribeInstances at rate.
func describe(rate float64) simulate.Group {
	return simulate.Group{Name: "g", Loop: simulate.OpenLoop, Rate: rate, Timeout: 10 * time.Second,
		Operations: []simulate.Operation{{Service: "EC2", Operation: "DescribeInstances"}}}
}

// No oracle: the tollgate strategy is the one-line install whatever the server's rules are, and
// only tollgate-oracle, marked as such, is handed them. Against a server whose DescribeInstances
// quota was raised to 200/s, tollgate keeps to the published 20/s exactly as a client built with
// limiter.New(limiter.DefaultRules()) does, while tollgate-oracle uses the raised quota.
func TestNoOracle(t *testing.T) {
	raised := server.MergeRules(limiter.DefaultRules(), limiter.Rules{{Name: "ec2-non-mutating", Service: "EC2",
		Operation: "Describe*", Rate: 200, Burst: 200, Source: "a raised quota"}})
	s := &simulate.Scenario{Name: "raised", Duration: 30 * time.Second, Seed: 5, Runs: 1,
		Server: simulate.ServerSpec{Rules: raised}, Groups: []simulate.Group{describe(100)}}
	strategies := []simulate.Strategy{
		&simulate.Tollgate{},
		&simulate.Tollgate{Rules: limiter.DefaultRules()},
		&simulate.TollgateOracle{},
	}
	c, err := simulate.SimulateStrategies(context.Background(), s, strategies, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	install, explicit, oracle := c.Strategies[0], c.Strategies[1], c.Strategies[2]
	a, _ := json.Marshal(install.Summary)
	b, _ := json.Marshal(explicit.Summary)
	if !bytes.Equal(a, b) {
		t.Errorf("tollgate differs from a client with limiter.DefaultRules():\n%s\n%s", a, b)
	}
	if install.Oracle || !oracle.Oracle {
		t.Errorf("oracle marks: tollgate %v, tollgate-oracle %v", install.Oracle, oracle.Oracle)
	}
	// The published bucket admits 100 + 20/s: about 23/s over 30 s.
	if install.GoodputPerS > 24 {
		t.Errorf("tollgate goodput %.1f/s: it used the server's raised quota", install.GoodputPerS)
	}
	if oracle.GoodputPerS < 95 {
		t.Errorf("tollgate-oracle goodput %.1f/s, want the offered 100/s (the raised quota allows it)", oracle.GoodputPerS)
	}
	// A scenario file cannot hand tollgate the server's rules either.
	_, err = simulate.ParseScenario("s.yaml", []byte("duration: 1s\ntollgate:\n  rules: server\ngroups:\n  - {name: g, loop: open, rate: 1, operations: [{service: EC2, operation: DescribeInstances}]}\n"), "")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("tollgate-oracle")) {
		t.Errorf("tollgate.rules: server: %v, want an error pointing to tollgate-oracle", err)
	}
}

// smallS3 is the default rules with S3 partitions of 100 GET/s (100 burst), for fast tests.
var smallS3 = server.MergeRules(limiter.DefaultRules(), limiter.Rules{{Name: "s3-read", Service: "S3",
	Operation: "Get*|Head*|List*", Rate: 100, Burst: 100, Partition: limiter.PartitionPrefix, Scope: limiter.ScopeShared, Source: "test"}})

// The report's capacity is what the server could serve: under a load far above it, a client that
// never retries and never waits gets the server's every token, so its goodput is its capacity —
// with capacity steps (an API in no rule, its limit halved, an outage), fault windows, an API the
// server does not limit beside one it does, and S3 partitions that split during the run.
func TestCapacityIsWhatTheServerServes(t *testing.T) {
	sts := func(rate float64) simulate.Group {
		return simulate.Group{Name: "sts", Loop: simulate.OpenLoop, Rate: rate, Timeout: 10 * time.Second,
			Operations: []simulate.Operation{{Service: "STS", Operation: "AssumeRole"}}}
	}
	faults, err := server.ParseFaults("f.yaml", []byte("windows:\n  - {service: ec2, operation: DescribeInstances, start: 10s, duration: 5s, every: 20s, mode: throttle}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		server simulate.ServerSpec
		groups []simulate.Group
		want   float64 // capacity per second, when known in closed form
	}{
		{"rules", simulate.ServerSpec{}, []simulate.Group{describe(60)}, (100 + 20*60) / 60.0},
		{"unknown API, halved", simulate.ServerSpec{Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{
			{Service: "STS", Operation: "AssumeRole", Rate: 10, Burst: 10},
			{Service: "STS", Operation: "AssumeRole", Start: 30 * time.Second, Rate: 5, Burst: 5},
		}}}, []simulate.Group{sts(40)}, (10 + 10*30 + 5*30) / 60.0},
		{"outage", simulate.ServerSpec{Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{
			{Service: "STS", Operation: "AssumeRole", Rate: 10, Burst: 20},
			{Service: "STS", Operation: "AssumeRole", Start: 20 * time.Second, Outage: true},
			{Service: "STS", Operation: "AssumeRole", Start: 21 * time.Second, Rate: 10, Burst: 20},
		}}}, []simulate.Group{sts(40)}, (20 + 10*20 + 10 + 10*39) / 60.0},
		{"faults", simulate.ServerSpec{Faults: faults}, []simulate.Group{describe(60)}, 0},
		{"unlimited beside limited", simulate.ServerSpec{}, []simulate.Group{describe(60), sts(30)}, (100 + 20*60) / 60.0},
		{"S3 split", simulate.ServerSpec{SplitAfter: 5 * time.Second, SplitDelay: 20 * time.Second, Rules: smallS3},
			[]simulate.Group{{Name: "s3", Loop: simulate.OpenLoop, Rate: 400, Timeout: 10 * time.Second,
				Operations: []simulate.Operation{{Service: "S3", Operation: "GetObject", Resource: "b", Prefixes: []string{"a/", "b/"}}}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &simulate.Scenario{Name: tc.name, Duration: time.Minute, Seed: 2, Runs: 1, Server: tc.server,
				Groups: tc.groups, Strategies: []string{"no-retry"}}
			c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st := c.Strategies[0]
			if tc.want > 0 && math.Abs(st.CapacityPerS-tc.want) > 0.01 {
				t.Errorf("capacity %.3f/s, want %.3f/s", st.CapacityPerS, tc.want)
			}
			// Calls in flight at the end of the window are not counted: a few tokens.
			if st.CapacityShare < 0.99 || st.CapacityShare > 1.0001 {
				t.Errorf("a client taking every token got %.4f of the capacity (%.2f/s of %.2f/s), want 1",
					st.CapacityShare, st.GoodputPerS, st.CapacityPerS)
			}
			// Both prefixes split off (one after the other): three partitions served in turn.
			if tc.name == "S3 split" && st.CapacityPerS < 100*1.3 {
				t.Errorf("capacity %.0f/s: the split partitions are not counted", st.CapacityPerS)
			}
		})
	}
}

// A capacity step without an operation is one bucket shared by the service's operations.
func TestCapacityStepSharedBucket(t *testing.T) {
	s := &simulate.Scenario{Name: "shared", Duration: time.Minute, Seed: 2, Runs: 1, Strategies: []string{"no-retry"},
		Server: simulate.ServerSpec{Capacity: &server.CapacitySchedule{Steps: []server.CapacityStep{{Service: "STS", Rate: 10, Burst: 10}}}},
		Groups: []simulate.Group{{Name: "sts", Loop: simulate.OpenLoop, Rate: 60, Operations: []simulate.Operation{
			{Service: "STS", Operation: "AssumeRole"}, {Service: "STS", Operation: "GetCallerIdentity"}}}}}
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Strategies[0]
	if max := uint64(10 + 10*60); st.Successes > max {
		t.Errorf("%d calls accepted, want at most %d: the operations got a bucket each", st.Successes, max)
	}
	if len(st.Operations) != 2 || st.Operations[0].CapacityPerS != st.CapacityPerS {
		t.Errorf("each operation's capacity is the shared bucket's: %+v", st.Operations)
	}
}

// Operations marked alone are also run on their own, and the report puts both side by side:
// the noisy neighbour scenario in a minute.
func TestAloneRuns(t *testing.T) {
	s, _, err := simulate.EmbeddedScenario("noisy-neighbour")
	if err != nil {
		t.Fatal(err)
	}
	s.Duration = time.Minute
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Strategies {
		if len(st.Operations) != 2 {
			t.Fatalf("%s: %d operations", st.Strategy, len(st.Operations))
		}
		hot, calm := st.Operations[0], st.Operations[1]
		if hot.Alone != nil || calm.Alone == nil {
			t.Fatalf("%s: alone rows: hot %v, calm %v", st.Strategy, hot.Alone, calm.Alone)
		}
		// Alone, DescribeVolumes gets its own share of the group's rate: 5/s.
		if r := float64(calm.Alone.Requests) / 60; r < 4.3 || r > 5.7 {
			t.Errorf("%s: alone %.1f calls/s, want about 5", st.Strategy, r)
		}
		if calm.Alone.Throttled != 0 || calm.Alone.GiveUps != 0 {
			t.Errorf("%s: DescribeVolumes alone: %+v", st.Strategy, *calm.Alone)
		}
		t.Logf("%s: DescribeVolumes p99 %.0f ms beside DescribeInstances, %.0f ms alone; give-ups %d", st.Strategy,
			calm.LatencyP99Ms, calm.Alone.LatencyP99Ms, calm.GiveUps)
	}
	// The SDK's adaptive mode slows the calm API down with the hot one: one rate per client.
	ad := c.Strategies[2].Operations[1]
	if ad.LatencyP99Ms < 10*ad.Alone.LatencyP99Ms {
		t.Errorf("sdk-adaptive: DescribeVolumes p99 %.0f ms beside the noisy API, %.0f ms alone", ad.LatencyP99Ms, ad.Alone.LatencyP99Ms)
	}
}

// Every built-in scenario is listed with its description, has a deadline on every group and
// compares tollgate with both SDK modes; shortened to 5 s, each runs and reports per API.
func TestEmbeddedScenarios(t *testing.T) {
	list := simulate.EmbeddedScenarioList()
	names := map[string]bool{}
	for _, info := range list {
		names[info.Name] = true
		if info.Description == "" {
			t.Errorf("%s: no description", info.Name)
		}
	}
	for _, want := range []string{"default", "ec2-fleet", "unknown-limit", "noisy-neighbour", "s3-hot-prefix"} {
		if !names[want] {
			t.Errorf("no built-in scenario %q (have %v)", want, list)
		}
	}
	for _, info := range list {
		s, _, err := simulate.EmbeddedScenario(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range s.Groups {
			if g.Timeout <= 0 {
				t.Errorf("%s: group %s has no timeout", info.Name, g.Name)
			}
		}
		for _, want := range []string{"tollgate", "sdk-standard", "sdk-adaptive"} {
			found := false
			for _, n := range s.Strategies {
				found = found || n == want
			}
			if !found {
				t.Errorf("%s: does not compare %s", info.Name, want)
			}
		}
		s.Duration = 5 * time.Second
		c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
		if err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		for _, st := range c.Strategies {
			var sum simulate.Summary
			for _, op := range st.Operations {
				sum.Requests += op.Requests
				sum.Attempts += op.Attempts
				sum.Successes += op.Successes
				sum.Throttled += op.Throttled
				sum.GiveUps += op.GiveUps
			}
			if sum.Requests != st.Requests || sum.Attempts != st.Attempts || sum.Successes != st.Successes ||
				sum.Throttled != st.Throttled || sum.GiveUps != st.GiveUps || st.Requests == 0 {
				t.Errorf("%s/%s: per-API rows %+v do not add up to %+v", info.Name, st.Strategy, sum, st.Summary)
			}
			for _, g := range st.Groups {
				var n uint64
				for _, op := range g.Operations {
					n += op.Attempts
				}
				if n != g.Attempts || len(g.Operations) == 0 {
					t.Errorf("%s/%s/%s: per-API attempts %d, group %d", info.Name, st.Strategy, g.Group, n, g.Attempts)
				}
			}
		}
	}
}

// Capacity that differs between runs (each run's S3 splits come when its traffic makes them)
// sums to the same report whatever order parallel runs finish in.
func TestCapacityDeterministic(t *testing.T) {
	s := &simulate.Scenario{Name: "splits", Duration: 40 * time.Second, Seed: 9, Runs: 4,
		Server:     simulate.ServerSpec{SplitAfter: 3 * time.Second, SplitDelay: 7 * time.Second, Rules: smallS3},
		Strategies: []string{"sdk-standard", "sdk-adaptive"},
		Groups: []simulate.Group{{Name: "s3", Loop: simulate.OpenLoop, Rate: 300, Timeout: 5 * time.Second,
			Operations: []simulate.Operation{{Service: "S3", Operation: "GetObject", Resource: "b", Prefixes: []string{"a/", "b/", "c/"}}}}}}
	var reports [][]byte
	for _, par := range []int{1, 4, 3} {
		c, err := simulate.Simulate(context.Background(), s, simulate.Options{Parallelism: par})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(c)
		reports = append(reports, b)
	}
	if !bytes.Equal(reports[0], reports[1]) || !bytes.Equal(reports[0], reports[2]) {
		t.Error("the same seed gave different reports")
	}
}
