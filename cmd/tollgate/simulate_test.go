package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

const smallScenario = "../../simulate/testdata/small.yaml"

// run runs tollgate in-process and returns its exit status and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSimulateTable(t *testing.T) {
	code, out, errOut := run(t, "simulate", "--strategies", "tollgate,sdk-standard,no-retry", smallScenario)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"scenario small", "strategy", "throttled", "tollgate", "sdk-standard", "no-retry", "  ec2", "  s3"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet something was written: %q", errOut)
	}
}

// The JSON report is the same, byte for byte, for the same seed; --seed changes it.
func TestSimulateJSONDeterministic(t *testing.T) {
	args := []string{"simulate", "--format", "json", "--strategies", "tollgate,sdk-adaptive", smallScenario}
	_, a, _ := run(t, args...)
	_, b, _ := run(t, args...)
	if a != b || a == "" {
		t.Fatal("same seed, different JSON reports")
	}
	var c simulate.Comparison
	if err := json.Unmarshal([]byte(a), &c); err != nil || len(c.Strategies) != 2 || c.Seed != 7 {
		t.Fatalf("report does not decode as expected: %v %+v", err, c)
	}
	_, d, _ := run(t, append([]string{"simulate", "--seed", "99"}, args[1:]...)...)
	if d == a {
		t.Fatal("--seed did not change the report")
	}
}

func TestSimulateOutAndMarkdown(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "simulate", "--format", "markdown", "--out", dir, "--strategies", "tollgate,no-retry", smallScenario)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "| **tollgate** |") {
		t.Errorf("markdown table missing:\n%s", out)
	}
	for _, f := range []string{"report.json", "report.md", "report.txt", "goodput.svg", "goodput.png", "throttles.svg", "throttles.png", "latency-cdf.svg", "latency-cdf.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	png, _ := os.ReadFile(filepath.Join(dir, "goodput.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("goodput.png is not a PNG")
	}
}

func TestSimulatePrintScenario(t *testing.T) {
	code, out, _ := run(t, "simulate", "--print-scenario")
	if code != 0 || !strings.Contains(out, "name: controller-and-export") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestBrookerCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "brooker", "--clients", "10,40", "--runs", "5", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"calls none", "calls full", "time decorrelated"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"brooker.json", "brooker-calls.svg", "brooker-calls.png", "brooker-time.svg", "brooker-time.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// writeBucketTrace writes a trace of an overloaded EC2 API served by the token-bucket model.
func writeBucketTrace(t *testing.T, path string, rate float64, burst int) int {
	t.Helper()
	rules := limiter.Rules{{Name: "x", Service: "EC2", Operation: "DescribeInstances", Rate: rate, Burst: burst, Source: "test"}}
	m, err := server.NewModel(server.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := trace.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	req := server.Request{Region: "eu-west-1", Service: "EC2", Operation: "DescribeInstances"}
	for c := 0; c < 3; c++ {
		now = now.Add(time.Duration(float64(burst)/rate+5) * time.Second)
		end := now.Add(60 * time.Second)
		for now.Before(end) {
			now = now.Add(time.Duration(rng.ExpFloat64() / (3 * rate) * float64(time.Second)))
			rec := trace.Record{Time: now, Service: "EC2", Operation: "DescribeInstances", Region: "eu-west-1", Outcome: trace.OutcomeSuccess, Client: "ctl"}
			if m.Decide(now, req).Outcome == server.Throttled {
				rec.Outcome, rec.ErrorCode, rec.Status = trace.OutcomeThrottled, "RequestLimitExceeded", 503
			}
			if err := w.Write(&rec); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return n
}

func TestFitAndReplayCommands(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.jsonl")
	n := writeBucketTrace(t, tr, 10, 50)
	rules := filepath.Join(dir, "rules.yaml")
	code, out, errOut := run(t, "fit", "--output", rules, tr)
	if code != 0 {
		t.Fatalf("fit: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "DescribeInstances") || !strings.Contains(out, "1 rule(s) written") {
		t.Errorf("fit summary:\n%s", out)
	}
	rs, err := limiter.LoadRules(rules)
	if err != nil || len(rs) != 1 || rs[0].Rate < 9 || rs[0].Rate > 11 || rs[0].Burst < 45 || rs[0].Burst > 55 {
		t.Fatalf("fitted rules %+v (%v), want about 10/s and 50", rs, err)
	}
	code, out, errOut = run(t, "replay", "--strategies", "tollgate,sdk-standard", "--rules", rules, "--format", "json", tr)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	var c simulate.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Strategies) != 2 || c.Strategies[0].Requests != uint64(n) || c.Strategies[0].Throttled > c.Strategies[1].Throttled {
		t.Fatalf("replay report: %d records, %+v", n, c.Strategies)
	}
	// Without --rules the server's buckets are fitted from the trace.
	if code, out, errOut = run(t, "replay", "--strategies", "no-retry", tr); code != 0 || !strings.Contains(out, "no-retry") {
		t.Fatalf("replay (fitted): exit %d: %s\n%s", code, errOut, out)
	}
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("this is not a log line\n"), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, errOut := run(t, "import", "--input-format", "s3-access-log", "--out", out, "../../simulate/trace/testdata/s3/access.log", bad)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "records written") || !strings.Contains(stdout, "malformed line") || !strings.Contains(stdout, "access.log:8:") {
		t.Errorf("import report lacks the count or the first offending file:line:\n%s", stdout)
	}
	f, err := trace.Open(filepath.Join(out, "trace.jsonl"), trace.FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rec trace.Record
	n := 0
	for f.Read(&rec) == nil {
		n++
	}
	if n == 0 {
		t.Fatal("no records in the imported trace")
	}
	if _, err := os.Stat(filepath.Join(out, "import.json")); err != nil {
		t.Error(err)
	}
	// To standard output, the report goes to stderr.
	code, stdout, errOut = run(t, "import", "../../simulate/trace/testdata/s3/access.log")
	if code != 0 || !strings.Contains(stdout, `"service":"S3"`) || !strings.Contains(errOut, "records written") {
		t.Errorf("exit %d\nstdout %.200s\nstderr %s", code, stdout, errOut)
	}
}
