package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/metrics/dashboards"
)

// requireTool returns the path of an external program, or skips the test (fails it under
// TOLLGATE_REQUIRE_INTEGRATION=1) when it is not on PATH.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("TOLLGATE_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("%s not on PATH and TOLLGATE_REQUIRE_INTEGRATION=1: install Debian's prometheus package", name)
	}
	t.Skipf("%s not on PATH: install Debian's prometheus package (apt-get install --no-install-recommends prometheus)", name)
	return ""
}

// prometheusServer is a real Prometheus on a loopback port with temporary storage.
type prometheusServer struct {
	url string
	cmd *exec.Cmd
	log *os.File
}

// startPrometheus starts Prometheus with config on a free 127.0.0.1 port, waits until it is
// ready (polling /-/ready, 30 s at most) and stops it when the test ends.
func startPrometheus(t *testing.T, bin, config string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	promLog := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	// A port taken between our probe and Prometheus's bind makes it exit: try a few ports.
	for try := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin,
			"--config.file="+config,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", try)),
			"--web.listen-address="+addr,
			"--log.level=warn",
		)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatalf("start prometheus: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		p := &prometheusServer{url: "http://" + addr, cmd: cmd, log: logf}
		switch waitReady(p.url, exited, 30*time.Second) {
		case "ready":
			t.Cleanup(func() {
				cmd.Process.Signal(os.Interrupt)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-exited
				}
				if t.Failed() {
					t.Logf("prometheus log:\n%s", promLog())
				}
				logf.Close()
			})
			return p
		case "exited":
			t.Logf("prometheus exited at start (port %s taken?), trying another port", addr)
			continue
		default:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("prometheus not ready after 30s; log:\n%s", promLog())
		}
	}
	t.Fatalf("prometheus did not start; log:\n%s", promLog())
	return nil
}

// waitReady polls url/-/ready until it answers 200 ("ready"), the process exits ("exited") or
// the timeout passes ("timeout").
func waitReady(url string, exited <-chan error, timeout time.Duration) string {
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return "exited"
		case <-deadline:
			return "timeout"
		case <-tick.C:
		}
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "ready"
			}
		}
	}
}

// sample is one element of a query result: labels and a value (an instant vector or scalar).
type sample struct {
	Metric map[string]string
	Value  float64
}

// query evaluates expr at time at through the HTTP API.
func (p *prometheusServer) query(expr string, at time.Time) ([]sample, error) {
	v := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.ErrorType, body.Error)
	}
	parse := func(pair []any) float64 {
		s, _ := pair[1].(string)
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	switch body.Data.ResultType {
	case "vector":
		var r []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &r); err != nil {
			return nil, err
		}
		out := make([]sample, len(r))
		for i, s := range r {
			out[i] = sample{Metric: s.Metric, Value: parse(s.Value)}
		}
		return out, nil
	case "scalar":
		var pair []any
		if err := json.Unmarshal(body.Data.Result, &pair); err != nil {
			return nil, err
		}
		return []sample{{Value: parse(pair)}}, nil
	}
	return nil, fmt.Errorf("unexpected result type %q", body.Data.ResultType)
}

// waitForTarget polls the targets API until Prometheus has discovered a target of job.
func (p *prometheusServer) waitForTarget(job string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/api/v1/targets?state=active")
		if err != nil {
			return err
		}
		var body struct {
			Data struct {
				ActiveTargets []struct {
					Labels map[string]string `json:"labels"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, tg := range body.Data.ActiveTargets {
			if tg.Labels["job"] == job {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus's discovery, with a deadline
	}
	return fmt.Errorf("prometheus did not discover a %q target within %v", job, timeout)
}

// lastGoodScrape returns the time of the latest successful scrape of job before at.
func (p *prometheusServer) lastGoodScrape(job string, at time.Time) (time.Time, error) {
	v := url.Values{"query": {fmt.Sprintf(`up{job=%q}[5m]`, job)}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Values [][]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return time.Time{}, err
	}
	var last time.Time
	good := 0
	for _, r := range body.Data.Result {
		for _, pair := range r.Values {
			ts, _ := pair[0].(float64)
			if pair[1] == "1" {
				good++
				last = time.UnixMilli(int64(math.Round(ts * 1000)))
			}
		}
	}
	if good < 3 {
		return time.Time{}, fmt.Errorf("only %d successful scrapes of job %q", good, job)
	}
	return last, nil
}

var labelValues = regexp.MustCompile(`^label_values\((.*), *([a-z_]+)\)$`)

// histogramBucket finds the histogram a quantile query reads.
var histogramBucket = regexp.MustCompile(`rate\(([a-z_:]+)_bucket\{`)

// TestPrometheusScrapesLoadAndEveryPanelHasData is the end-to-end check of the metrics, the
// dashboards and `tollgate-live load`: a real Prometheus (Debian's) scrapes a short `tollgate-live load`
// run against an in-process emulator set up to throttle, fail transiently and make tollgate's
// limiter wait and refuse; `promtool check metrics` checks the live /metrics; then every query
// of every panel of every dashboard `tollgate-live dashboard` writes is evaluated and must return
// data, and every variable must list values.
func TestPrometheusScrapesLoadAndEveryPanelHasData(t *testing.T) {
	promBin := requireTool(t, "prometheus")
	promtool := requireTool(t, "promtool")
	dir := t.TempDir()

	// The emulator's quotas, cut so a 6-second run throttles: EC2 DescribeInstances 8/s, S3
	// reads 10/s per prefix, DynamoDB reads 10/s; and half a second of HTTP 500s from S3 GetObject every 1.5 s.
	serverRules := filepath.Join(dir, "server-rules.yaml")
	writeTestFile(t, serverRules, `rules:
  - {name: ec2-non-mutating, service: EC2, operation: "Describe*|List*|Search*|Get*", rate: 8, burst: 8}
  - {name: s3-read, service: S3, operation: "Get*|Head*|List*|SelectObjectContent", rate: 10, burst: 10, partition: prefix, scope: shared}
  - {name: dynamodb-read, service: DynamoDB, operation: "GetItem|BatchGetItem|Query|Scan|TransactGetItems", rate: 10, burst: 5, scope: shared}
`)
	faults := filepath.Join(dir, "faults.yaml")
	// GetObject only, so the setup's PutObjects are spared; early, while the retry budget lasts,
	// and again every 1.5 s, so that a machine too busy to start calling within the first
	// window still meets one.
	writeTestFile(t, faults, "windows:\n  - {service: s3, operation: GetObject, start: 700ms, duration: 500ms, every: 1500ms, mode: error}\n")
	// tollgate's limiter: above the emulator's quotas (so AWS still throttles, and keeps
	// throttling: these rules do not adapt) and below the offered load (so calls wait, and with
	// --max-wait some are refused). S3 has the default rules, which adapt: its rate changes.
	clientRules := filepath.Join(dir, "client-rules.yaml")
	writeTestFile(t, clientRules, `rules:
  - {name: ec2-non-mutating, service: EC2, operation: "Describe*|List*|Search*|Get*", rate: 20, burst: 5, adaptive: false}
  - {name: dynamodb-read, service: DynamoDB, operation: "GetItem|BatchGetItem|Query|Scan|TransactGetItems", rate: 20, burst: 5, scope: shared, adaptive: false}
`)

	// Prometheus first, scraping the address the load will serve /metrics on, so that it has
	// discovered its target (which takes it a few seconds) before the load starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	var out strings.Builder
	if code := execute(context.Background(), []string{"dashboard", "--out", dir, "--target", metricsAddr, "--scrape-interval", "1s"}, &out, &out); code != 0 {
		t.Fatalf("tollgate-live dashboard: exit %d: %s", code, out.String())
	}
	promConfig := filepath.Join(dir, dashboards.PrometheusConfigFile)
	if b, err := exec.Command(promtool, "check", "config", promConfig).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, b)
	}
	prom := startPrometheus(t, promBin, promConfig)
	if err := prom.waitForTarget("tollgate", 20*time.Second); err != nil {
		t.Fatal(err)
	}

	run := startLoad(t, "--listen", metricsAddr, "--duration", "6s", "--rate", "120",
		"--mix", "ec2:DescribeInstances=5,s3:GetObject=3,dynamodb:GetItem=2",
		"--rules", clientRules, "--max-wait", "150ms", "--timeout", "4s",
		"--emulator-rules", serverRules, "--emulator-faults", faults, "--format", "json", "--seed", "9")
	if run.metricsURL != "http://"+metricsAddr+"/metrics" {
		code, _, stderr := run.wait()
		t.Fatalf("load does not serve metrics on %s (exit %d): %s", metricsAddr, code, stderr)
	}

	// promtool check metrics on the live exposition, once throttles have been counted.
	deadline := time.Now().Add(5 * time.Second)
	var exposition []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(run.metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		exposition, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(exposition), "tollgate_throttles_total{") && strings.Contains(string(exposition), "tollgate_sdk_client_call_errors_total{") {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling a live run, with a deadline
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(string(exposition))
	if b, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on the live /metrics: %v\n%s", err, b)
	}

	code, stdout, stderr := run.wait()
	end := time.Now()
	if code != 0 {
		t.Fatalf("tollgate-live load: exit %d\n%s", code, stderr)
	}
	t.Logf("load summary:\n%s", stdout)
	at, err := prom.lastGoodScrape("tollgate", end)
	if err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, dashboards.DashboardsDir, "*.json"))
	if len(files) != 3 {
		t.Fatalf("dashboards: %v", files)
	}
	queries := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dashboards.ParseStrict(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(f)
		for _, v := range dashboards.Variables(d) {
			m := labelValues.FindStringSubmatch(v.Query)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(...)", name, v.Name, v.Query)
				continue
			}
			expr := fmt.Sprintf("count by (%s) (%s)", m[2], dashboards.Expand(m[1], "30s", "1m"))
			res, err := prom.query(expr, at)
			if err != nil || len(res) == 0 || res[0].Metric[m[2]] == "" {
				t.Errorf("%s: variable %s lists no values: %s: %v %v", name, v.Name, expr, res, err)
			}
		}
		// A panel has data when one of its queries has a finite value. A query of a histogram
		// whose events are rare may be NaN (no event in the window: histogram_quantile of zero
		// rates) when its series exist: the SDK records a connection's acquire duration only when
		// it dials one, and a run that reuses its first connections dials none after Prometheus's
		// first scrape of the series (rate() does not count a series' first sample).
		finite := map[string]bool{}
		for _, tg := range dashboards.Targets(d) {
			queries++
			panel := tg.Row + " / " + tg.Panel
			if _, ok := finite[panel]; !ok {
				finite[panel] = false
			}
			expr := dashboards.Expand(tg.Expr, "30s", "1m")
			res, err := prom.query(expr, at)
			switch {
			case err != nil:
				t.Errorf("%s / %s / %q: %s: %v", name, tg.Row, tg.Panel, expr, err)
			case len(res) == 0:
				t.Errorf("%s / %s / %q: no data: %s", name, tg.Row, tg.Panel, expr)
			case anyFinite(res):
				finite[panel] = true
			default:
				m := histogramBucket.FindStringSubmatch(expr)
				if m == nil {
					t.Errorf("%s / %s / %q: only NaN or Inf: %s: %v", name, tg.Row, tg.Panel, expr, res)
					break
				}
				counts, err := prom.query("sum("+m[1]+"_count)", at)
				if err != nil || len(counts) == 0 || !(counts[0].Value > 0) {
					t.Errorf("%s / %s / %q: only NaN or Inf, and no %s_count recorded: %s: %v (%v)", name, tg.Row, tg.Panel, m[1], expr, res, err)
					break
				}
				t.Logf("%s / %s / %q: no %s event in the window (%v recorded in all)", name, tg.Row, tg.Panel, m[1], counts[0].Value)
			}
		}
		for panel, ok := range finite {
			if !ok {
				t.Errorf("%s / %s: no query of the panel has a finite value", name, panel)
			}
		}
	}
	if queries < 50 {
		t.Errorf("only %d queries evaluated", queries)
	}

	// What the run must have shown for the panels to mean something.
	for expr, want := range map[string][]string{
		`sum by (error_code) (tollgate_throttles_total)`:                 {"RequestLimitExceeded", "ProvisionedThroughputExceededException", "SlowDown"},
		`sum by (reason) (tollgate_retries_total)`:                       {"throttled", "transient"},
		`sum by (reason) (tollgate_limiter_refusals_total)`:              {"max-wait"},
		`sum by (result) (tollgate_emulator_requests_total)`:             {"accepted", "throttled", "failed"},
		`sum by (aws_service) (tollgate_sdk_client_call_attempts_total)`: {"EC2", "S3", "DynamoDB"},
	} {
		res, err := prom.query(expr, at)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, s := range res {
			for _, v := range s.Metric {
				got[v] = s.Value
			}
		}
		for _, w := range want {
			if got[w] <= 0 {
				t.Errorf("%s: no %s (have %v)", expr, w, got)
			}
		}
	}
}

func anyFinite(res []sample) bool {
	for _, s := range res {
		if !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			return true
		}
	}
	return false
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
