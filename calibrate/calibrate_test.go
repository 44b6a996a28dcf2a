package calibrate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/calibrate"
	"github.com/tollgate/tollgate/simulate"
)

// ciScenario is a short scenario whose outcome the server's capacity governs, not the client's
// CPU: an open loop at six times a DescribeInstances bucket cut to 10/s, Poisson arrivals the
// real run replays from the simulator's draws. Its real run takes about 10 s. The rate keeps
// the p50 of successful calls away from the gap between calls that succeed at once (a round
// trip) and calls that succeed on a retry (a backoff later): at 30/s, as many successes came
// from retries as from first attempts (2.1 attempts per call), and the p50 jumped from 28 ms to
// 200 ms or back between seeds and runs; at 60/s the retry quota holds retries to about half
// an attempt per call, and two successes in three are first attempts.
const ciScenario = `
name: calibrate-ci
duration: 8s
seed: 4
server:
  capacity:
    - {service: EC2, operation: DescribeInstances, start: 0s, rate: 10, burst: 10}
groups:
  - name: pollers
    loop: open
    rate: 60
    processes: 2
    timeout: 5s
    rtt: 20ms
    jitter: 2ms
    operations:
      - {service: EC2, operation: DescribeInstances}
`

// The simulator's sdk-standard agrees with the SDK's real standard retryer on a real run:
// throttled share, attempts per call and failed calls within ±25%, p50 of successful calls
// within ±50% or 50 ms — every check of every row.
func TestStandardModeAgreesWithTheRealSDK(t *testing.T) {
	sc, err := simulate.ParseScenario("calibrate-ci.yaml", []byte(ciScenario), "")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := calibrate.Run(context.Background(), sc, calibrate.Options{Strategies: []string{"sdk-standard"}, Seeds: 1, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.Write(&b, "table"); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	st := rep.Strategies[0]
	if st.Checked < 4 || st.Agree != st.Checked {
		t.Errorf("sdk-standard: %d of %d checks agree", st.Agree, st.Checked)
	}
	total := st.Rows[0]
	var thr, calls calibrate.Metric
	for _, m := range total.Metrics {
		switch m.Name {
		case "throttled share":
			thr = m
		case "calls":
			calls = m
		}
	}
	if thr.Real < 0.2 || calls.Real < 150 || calls.Virtual != calls.Real {
		t.Errorf("throttled share %.2f of %v calls (virtual %v): the workload must be throttled, and both sides start the same calls", thr.Real, calls.Real, calls.Virtual)
	}
	for _, f := range []string{"json", "markdown"} {
		b.Reset()
		if err := rep.Write(&b, f); err != nil || b.Len() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var back calibrate.Report
	if err := json.Unmarshal(b.Bytes(), &back); err == nil {
		t.Error("markdown parsed as JSON")
	}
	dir := t.TempDir()
	files, err := rep.Plot(dir)
	if err != nil || len(files) != 2 {
		t.Fatalf("plot: %v %v", files, err)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("plot %s: %v", f, err)
		}
	}
}

// Strategies calibrate cannot run with real clients, and bad options, are refused before any
// run.
func TestRunRefusesWhatItCannotRun(t *testing.T) {
	sc, err := simulate.ParseScenario("calibrate-ci.yaml", []byte(ciScenario), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts calibrate.Options
		want string
	}{
		{calibrate.Options{Strategies: []string{"tollgate-oracle"}}, `strategy "tollgate-oracle" cannot run with real clients`},
		{calibrate.Options{Strategies: []string{"tollgate", "tollgate"}}, `given twice`},
		{calibrate.Options{Scale: -1}, `scale must be >= 0`},
	} {
		start := time.Now()
		_, err := calibrate.Run(context.Background(), sc, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || time.Since(start) > 5*time.Second {
			t.Errorf("%+v: %v, want %q at once", c.opts, err, c.want)
		}
	}
}
