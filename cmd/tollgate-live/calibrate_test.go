package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/load"
)

// smallScenario is a two-second scenario a test can run for real.
const smallScenario = `name: small
duration: 2s
seed: 3
server:
  capacity:
    - {service: EC2, operation: DescribeInstances, start: 0s, rate: 5, burst: 5}
groups:
  - name: pollers
    loop: open
    rate: 20
    processes: 2
    timeout: 3s
    rtt: 10ms
    operations:
      - {service: EC2, operation: DescribeInstances}
  - name: identity
    loop: closed
    workers: 2
    think: 100ms
    operations:
      - {service: STS, operation: GetCallerIdentity}
`

func writeScenario(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(p, []byte(smallScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// load --scenario runs a scenario file's groups for real and reports per group and API; the
// mix mode takes --retryer and --arrivals.
func TestLoadRunsAScenarioAndEveryRetryer(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"load", "--scenario", writeScenario(t), "--retryer", "adaptive", "--listen", "none", "--format", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep load.ScenarioReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report (%v): %s", err, stdout.String())
	}
	if rep.Retryer != "adaptive" || len(rep.Groups) != 2 || rep.Groups[0].Calls < 20 || rep.Groups[1].Calls == 0 || rep.Throttled == 0 {
		t.Errorf("report: retryer %s, groups %+v", rep.Retryer, rep.Groups)
	}

	stdout.Reset()
	code = execute(context.Background(), []string{"load", "--listen", "none", "--duration", "500ms", "--rate", "40", "--mix", "sts:GetCallerIdentity",
		"--retryer", "standard", "--arrivals", "poisson", "--format", "json"}, &stdout, &stderr)
	var mix load.Report
	if code != 0 || json.Unmarshal(stdout.Bytes(), &mix) != nil {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	if mix.Retryer != "standard" || mix.Tollgate || mix.Arrivals != "poisson" || mix.Offered != int64(mix.Total.Calls)+mix.Dropped || mix.Total.SucceededP50 <= 0 {
		t.Errorf("mix report: %+v", mix)
	}
}

func TestLoadAndCalibrateUsageErrors(t *testing.T) {
	sc := writeScenario(t)
	for _, c := range []struct {
		args     []string
		inStderr string
	}{
		{[]string{"load", "--scenario", sc, "--rate", "5"}, "--rate does not apply with --scenario"},
		{[]string{"load", "--scenario", sc, "--endpoint", "http://127.0.0.1:1"}, "--endpoint does not apply with --scenario"},
		{[]string{"load", "--no-tollgate", "--retryer", "adaptive"}, "contradicts --retryer adaptive"},
		{[]string{"load", "--retryer", "legacy"}, `"--retryer" flag`},
		{[]string{"load", "--arrivals", "bursty"}, `"--arrivals" flag`},
		{[]string{"calibrate"}, "SCENARIO"},
		{[]string{"calibrate", sc, "--strategies", "sdk-legacy"}, `"sdk-legacy" cannot run with real clients`},
		{[]string{"calibrate", sc, "--seeds", "0"}, `"--seeds" flag: want 1 to 100`},
		{[]string{"calibrate", sc, "--scale", "2"}, `"--scale" flag`},
		{[]string{"calibrate", sc, "--out", sc}, "input"},
	} {
		var stderr bytes.Buffer
		if code := execute(context.Background(), c.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.inStderr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 mentioning %q", c.args, code, stderr.String(), c.inStderr)
		}
	}
	var stderr bytes.Buffer
	if code := execute(context.Background(), []string{"calibrate", filepath.Join(t.TempDir(), "missing.yaml")}, io.Discard, &stderr); code != 1 {
		t.Errorf("a missing scenario: exit %d, stderr %q", code, stderr.String())
	}
}

// calibrate prints the comparison and writes its files; a short run of one strategy and seed.
func TestCalibrateWritesItsReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cal")
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"calibrate", writeScenario(t), "--strategies", "tollgate", "--seeds", "1", "--scale", "1",
		"--format", "markdown", "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"### Calibration: `small`", "#### tollgate:", "| total | calls |", "|  | throttled share |", "| group pollers |", "STS GetCallerIdentity"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, f := range []string{"report.json", "report.md", "report.txt", "tollgate.svg", "tollgate.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
