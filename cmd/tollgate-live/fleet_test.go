package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/redistest"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/simulate"
)

// TestLoadFleetAgreesWithSimulator: the embedded ec2-fleet scenario scaled to what two cores
// drive in real time — 8 processes instead of 20, 10 s instead of 10 minutes, the same 100
// calls/s offered to DescribeInstances' 100/20 bucket, 10 s deadlines — run by `tollgate-live
// load` against the emulator, once with the processes sharing their buckets through a real
// redis-server (--redis-url) and once each on its own, and by the simulator (tollgate-fleet and
// tollgate, 3 seeds). The throttled shares agree: within ±25% of the simulator's where it is
// not near zero, and both under 1% for the fleet, whose store leaves nothing to throttle.
func TestLoadFleetAgreesWithSimulator(t *testing.T) {
	srv := redistest.Start(t)
	const seconds = 10
	args := []string{"--listen", "none", "--duration", "10s", "--rate", "100", "--mix", "ec2:DescribeInstances=1",
		"--processes", "8", "--format", "json", "--seed", "3"}
	// One run after the other, and the simulator after both: two runs of 8 processes at once
	// on 2 busy cores delay the limiter's decisions and feedback enough to change what AWS
	// sees (17% throttled instead of 10–11% in one run of the race-detected test suite).
	real := map[string]*load.Report{}
	for _, name := range []string{"tollgate", "tollgate-fleet"} {
		extra := map[string][]string{"tollgate-fleet": {"--redis-url", "redis://" + srv.Addr()}}[name]
		var stdout, stderr bytes.Buffer
		code := execute(context.Background(), append(append([]string{"load"}, args...), extra...), &stdout, &stderr)
		var rep load.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); code != 0 || err != nil {
			t.Fatalf("%s: exit %d (%v)\nstderr:\n%s", name, code, err, stderr.String())
		}
		if name == "tollgate-fleet" && !strings.Contains(stderr.String(), "round trips for") {
			t.Errorf("the fleet run did not report its store round trips:\n%s", stderr.String())
		}
		real[name] = &rep
	}

	s, _, err := simulate.EmbeddedScenario("ec2-fleet")
	if err != nil {
		t.Fatal(err)
	}
	s.Duration, s.Runs, s.Strategies = seconds*time.Second, 3, []string{"tollgate", "tollgate-fleet"}
	s.Groups[0].Processes, s.Groups[0].RTT, s.Groups[0].Jitter = 8, 2*time.Millisecond, 500*time.Microsecond
	cmp, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range cmp.Strategies {
		r := real[st.Strategy]
		sim := float64(st.Throttled) / float64(st.Attempts)
		got := float64(r.Total.Throttled) / float64(r.Total.Attempts)
		t.Logf("%s: throttled share simulated %.2f%% (%d of %d attempts, 3 seeds), real time %.2f%% (%d of %d attempts)",
			st.Strategy, 100*sim, st.Throttled, st.Attempts, 100*got, r.Total.Throttled, r.Total.Attempts)
		switch {
		case st.Strategy == "tollgate-fleet":
			if sim > 0.01 || got > 0.01 {
				t.Errorf("tollgate-fleet: throttled %.2f%% simulated, %.2f%% in real time; want both ≤ 1%%", 100*sim, 100*got)
			}
		case math.Abs(got-sim) > 0.25*sim:
			t.Errorf("%s: throttled %.2f%% in real time, %.2f%% simulated: not within ±25%%", st.Strategy, 100*got, 100*sim)
		}
	}
	// The fleet kept to the bucket: what it sent is what 20/s over the run admits.
	fl := real["tollgate-fleet"]
	if max := 20*fl.Seconds + 100; float64(fl.Total.Attempts) > max {
		t.Errorf("the fleet sent %d attempts in %.1fs; the bucket admits %.0f", fl.Total.Attempts, fl.Seconds, max)
	}
}

// TestLoadRedisURLErrors: --redis-url (or TOLLGATE_REDIS_URL) needs tollgate's limiter, a
// URL go-redis reads, and never quotes its password back.
func TestLoadRedisURLErrors(t *testing.T) {
	for _, c := range []struct {
		args     []string
		env      string
		code     int
		inStderr string
	}{
		{[]string{"--redis-url", "redis://127.0.0.1:1", "--no-tollgate"}, "", 2, "needs tollgate and its limiter"},
		{[]string{"--redis-url", "redis://127.0.0.1:1", "--rules", "none"}, "", 2, "needs tollgate and its limiter"},
		{[]string{"--redis-url", "mysql://:hunter2@127.0.0.1"}, "", 1, "fleet: Redis URL mysql://:REDACTED@127.0.0.1"},
		{nil, "redis://:hunter2@127.0.0.1:6379/x", 1, "fleet: Redis URL redis://:REDACTED@127.0.0.1:6379/x"},
		{[]string{"--processes", "0"}, "", 2, `"--processes" flag`},
	} {
		t.Setenv("TOLLGATE_REDIS_URL", c.env)
		var stdout, stderr bytes.Buffer
		args := append([]string{"load", "--listen", "none", "--duration", "1ms"}, c.args...)
		code := execute(context.Background(), args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.inStderr) || strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("load %v (TOLLGATE_REDIS_URL=%q): exit %d, stderr %q; want exit %d mentioning %q", c.args, c.env, code, stderr.String(), c.code, c.inStderr)
		}
	}
}
