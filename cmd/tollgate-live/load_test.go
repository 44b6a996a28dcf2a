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

	"github.com/tollgate/tollgate/internal/clitest"
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

// The inputs of issue 15 to load: every numeric flag outside its range is a usage error naming
// the range (exit 2; the issue: --rate NaN and Inf ran 0 calls, exit 0); files named by
// mistake are refused before being read (/dev/zero never ends) and never quoted; an endpoint's
// signature never appears in the output.
func TestLoadInputs(t *testing.T) {
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badRules, []byte("rules:\n  - name: x\n    service: EC2\n    rate: 0\n    burst: 1\n"), 0o600)
	shadow := filepath.Join(dir, "shadow")
	os.WriteFile(shadow, []byte("root:$6$SECRETHASH:19000:0:99999:7:::\n"), 0o600)
	quick := []string{"load", "--listen", "none", "--duration", "1ms"}
	runCases(t, []clitest.Case{
		{Name: "mix", Args: []string{"load", "--mix", "ec2:Nope"}, Code: 2, Stderr: []string{"--mix: mix entry 1"}},
		{Name: "duration 0", Args: []string{"load", "--duration", "0s"}, Code: 2, Stderr: []string{`invalid argument "0s" for "--duration" flag: want > 0s`}},
		{Name: "rate NaN", Args: []string{"load", "--rate", "NaN"}, Code: 2, Stderr: []string{`invalid argument "NaN" for "--rate" flag: want a finite number`}},
		{Name: "rate Inf", Args: []string{"load", "--rate", "Inf"}, Code: 2, Stderr: []string{`"--rate" flag: want a finite number`}},
		{Name: "rate -1", Args: []string{"load", "--rate", "-1"}, Code: 2, Stderr: []string{`"--rate" flag: want >= 0`}},
		{Name: "concurrency -1", Args: []string{"load", "--concurrency", "-1"}, Code: 2, Stderr: []string{`"--concurrency" flag: want 0 to 10000`}},
		{Name: "concurrency 1e9", Args: []string{"load", "--concurrency", "1000000000"}, Code: 2, Stderr: []string{`"--concurrency" flag: want 0 to 10000`}},
		{Name: "timeout -1s", Args: []string{"load", "--timeout", "-1s"}, Code: 2, Stderr: []string{`"--timeout" flag: want >= 0s`}},
		{Name: "max-wait -1s", Args: []string{"load", "--max-wait", "-1s"}, Code: 2, Stderr: []string{`"--max-wait" flag: want >= 0s`}},
		{Name: "max-attempts -1", Args: []string{"load", "--max-attempts", "-1"}, Code: 2, Stderr: []string{`"--max-attempts" flag: want >= 0`}},
		{Name: "format", Args: []string{"load", "--format", "xml"}, Code: 2, Stderr: []string{"--format"}},
		{Name: "emulator flags with an endpoint", Args: []string{"load", "--endpoint", "http://127.0.0.1:1", "--emulator-latency", "1ms"}, Code: 2,
			Stderr: []string{"do not apply with --endpoint"}},
		{Name: "remote endpoint", Args: []string{"load", "--endpoint", "https://ec2.us-east-1.amazonaws.com/?X-Amz-Signature=SECRETSIG"}, Code: 2,
			Stderr: []string{"--allow-remote", "X-Amz-Signature=REDACTED"}, Secret: "SECRETSIG"},
		{Name: "endpoint scheme", Args: []string{"load", "--endpoint", "ftp://x"}, Code: 2, Stderr: []string{"--endpoint"}},
		{Name: "listen", Args: []string{"load", "--listen", "0.0.0.0:0"}, Code: 2, Stderr: []string{"--listen"}},
		{Name: "argument", Args: []string{"load", "extra"}, Code: 2, Stderr: []string{`unexpected argument "extra"`}},
		{Name: "bad rules field", Args: append(quick, "--rules", badRules), Code: 1, Stderr: []string{badRules + `:4: rule "x": field "rate"`}},
		{Name: "rules that are a device", Args: append(quick, "--rules", "/dev/zero"), Code: 1, Stderr: []string{"/dev/zero: not a regular file"}},
		{Name: "emulator rules that are a device", Args: append(quick, "--emulator-rules", "/dev/zero"), Code: 1, Stderr: []string{"/dev/zero: not a regular file"}},
		{Name: "rules that are a password file", Args: append(quick, "--rules", shadow), Code: 1, Stderr: []string{"shadow:1: not a limiter rules file"}, Secret: "SECRETHASH"},
		{Name: "emulator faults that are a device", Args: append(quick, "--emulator-faults", "/dev/zero"), Code: 1, Stderr: []string{"not a regular file"}},
		// Secrets in errors (issue: failures came back as *url.Error with the presigned URL's
		// X-Amz-Signature and X-Amz-Credential).
		{Name: "signed endpoint", Args: []string{"load", "--listen", "none", "--duration", "200ms", "--rate", "20", "--mix", "sts:GetCallerIdentity=1",
			"--endpoint", "http://127.0.0.1:1/?X-Amz-Signature=SECRETSIG&X-Amz-Credential=AKIDSECRET"}, Code: 0,
			Stderr: []string{"X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED"}, Stdout: []string{"failures by error: transport"}, Secret: "SECRET"},
		{Name: "help", Args: []string{"load", "--help"}, Code: 0, Stdout: []string{"--no-tollgate", "s3:GetObject"}},
	})
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
