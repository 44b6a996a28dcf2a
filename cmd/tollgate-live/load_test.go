package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/metrics/dashboards"
)

// loadRun is `tollgate-live load` running in-process.
type loadRun struct {
	metricsURL string // from the first line of stderr; "" with --listen none
	done       chan int
	stdout     bytes.Buffer
	stderrMu   sync.Mutex
	stderr     bytes.Buffer
}

// startLoad runs `tollgate load args...` in the background. With a --listen address it waits
// for the metrics URL on stderr.
func startLoad(t *testing.T, args ...string) *loadRun {
	t.Helper()
	r := &loadRun{done: make(chan int, 1)}
	pr, pw := io.Pipe()
	go func() {
		code := execute(context.Background(), append([]string{"load"}, args...), &r.stdout, pw)
		pw.Close()
		r.done <- code
	}()
	lines := bufio.NewReader(pr)
	first, err := lines.ReadString('\n')
	r.stderr.WriteString(first)
	go func() {
		b, _ := io.ReadAll(lines)
		r.stderrMu.Lock()
		r.stderr.Write(b)
		r.stderrMu.Unlock()
	}()
	if err != nil {
		t.Fatalf("load printed nothing on stderr (%v): %s", err, first)
	}
	if u, ok := strings.CutPrefix(strings.TrimSpace(first), "tollgate-live load: metrics on "); ok {
		r.metricsURL = u
	}
	return r
}

// wait waits for the run to end and returns its exit status, stdout and stderr.
func (r *loadRun) wait() (int, string, string) {
	code := <-r.done
	r.stderrMu.Lock()
	defer r.stderrMu.Unlock()
	return code, r.stdout.String(), r.stderr.String()
}

func TestLoadPrintsASummaryPerAPI(t *testing.T) {
	r := startLoad(t, "--listen", "127.0.0.1:0", "--duration", "700ms", "--rate", "60",
		"--mix", "sts:GetCallerIdentity=1,ec2:DescribeInstances=2", "--format", "json", "--seed", "4")
	if !strings.HasPrefix(r.metricsURL, "http://127.0.0.1:") {
		t.Fatalf("first stderr line does not give the metrics URL: %q", r.stderr.String())
	}
	code, stdout, stderr := r.wait()
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var rep load.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--format json printed no JSON report (%v):\n%s", err, stdout)
	}
	if !rep.Tollgate || len(rep.APIs) != 2 || rep.Total.Calls < 30 || rep.Total.Failed != 0 {
		t.Errorf("report: %+v", rep)
	}
	for _, a := range rep.APIs {
		if a.Calls == 0 || a.Attempts < a.Calls || a.P99 <= 0 || a.P50 > a.P99 {
			t.Errorf("%s: %+v", a.API, a)
		}
	}

	// The same with --no-tollgate and the table format, without serving metrics.
	r = startLoad(t, "--listen", "none", "--duration", "300ms", "--concurrency", "2", "--mix", "sts:GetCallerIdentity", "--no-tollgate")
	code, stdout, stderr = r.wait()
	if code != 0 || !strings.Contains(stdout, "SDK standard retryer, no tollgate") || !strings.Contains(stdout, "sts:GetCallerIdentity") {
		t.Errorf("--no-tollgate: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestLoadUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badRules, []byte("rules:\n  - name: x\n    service: EC2\n    rate: 0\n    burst: 1\n"), 0o600)
	for _, c := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"--mix", "ec2:Nope"}, 2, "--mix: mix entry 1"},
		{[]string{"--duration", "0s"}, 2, `invalid argument "0s" for "--duration" flag: want > 0s`},
		{[]string{"--rate", "NaN"}, 2, `invalid argument "NaN" for "--rate" flag: want a finite number`},
		{[]string{"--rate", "Inf"}, 2, `"--rate" flag: want a finite number`},
		{[]string{"--rate", "-1"}, 2, `"--rate" flag: want >= 0`},
		{[]string{"--concurrency", "-1"}, 2, `"--concurrency" flag: want >= 0`},
		{[]string{"--timeout", "-1s"}, 2, `"--timeout" flag: want >= 0s`},
		{[]string{"--format", "xml"}, 2, "--format"},
		{[]string{"--endpoint", "http://127.0.0.1:1", "--emulator-latency", "1ms"}, 2, "do not apply with --endpoint"},
		{[]string{"--endpoint", "https://ec2.us-east-1.amazonaws.com"}, 2, "--allow-remote"},
		{[]string{"--endpoint", "ftp://x"}, 2, "--endpoint"},
		{[]string{"--listen", "0.0.0.0:0"}, 2, "--listen"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--listen", "none", "--rules", badRules, "--duration", "1ms"}, 1, badRules + `:4: rule "x": field "rate"`},
	} {
		var stdout, stderr bytes.Buffer
		code := execute(context.Background(), append([]string{"load"}, c.args...), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.inStderr) {
			t.Errorf("load %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr.String(), c.code, c.inStderr)
		}
	}
	var stdout bytes.Buffer
	if code := execute(context.Background(), []string{"load", "--help"}, &stdout, io.Discard); code != 0 ||
		!strings.Contains(stdout.String(), "--no-tollgate") || !strings.Contains(stdout.String(), "s3:GetObject") {
		t.Errorf("--help: exit %d, output %q", code, stdout.String())
	}
}

func TestDashboardWritesParsableFiles(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"dashboard", "--out", dir, "--target", "127.0.0.1:9999", "--scrape-interval", "2s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	entries, err := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if err != nil || len(entries) != 3 {
		t.Fatalf("dashboards written: %v (%v)", entries, err)
	}
	for _, f := range entries {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dashboards.ParseStrict(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	prom, err := os.ReadFile(filepath.Join(dir, dashboards.PrometheusConfigFile))
	if err != nil || !strings.Contains(string(prom), "127.0.0.1:9999") || !strings.Contains(string(prom), "scrape_interval: 2s") {
		t.Errorf("prometheus.yml: %v\n%s", err, prom)
	}
	for _, c := range []struct {
		args     []string
		inStderr string
	}{
		{nil, "--out DIR is required"},
		{[]string{"--out", dir, "--scrape-interval", "500ms"}, "--scrape-interval"},
		{[]string{"--out", dir, "--target", "nohost"}, "scrape target"},
		{[]string{"--out", dir, "--prometheus-url", "9090"}, "Prometheus URL"},
	} {
		stderr.Reset()
		if code := execute(context.Background(), append([]string{"dashboard"}, c.args...), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.inStderr) {
			t.Errorf("dashboard %v: exit %d, stderr %q; want 2 mentioning %q", c.args, code, stderr.String(), c.inStderr)
		}
	}
}
