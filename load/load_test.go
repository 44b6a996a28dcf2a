package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/load"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func TestParseMix(t *testing.T) {
	ops, err := load.ParseMix(" EC2:DescribeInstances=5, s3:GetObject=2.5,sts:GetCallerIdentity ")
	if err != nil {
		t.Fatal(err)
	}
	want := []load.Op{{"ec2", "DescribeInstances", 5}, {"s3", "GetObject", 2.5}, {"sts", "GetCallerIdentity", 1}}
	if len(ops) != len(want) {
		t.Fatalf("ParseMix = %v, want %v", ops, want)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, ops[i], want[i])
		}
	}
	for in, msg := range map[string]string{
		"":                                   "empty mix",
		"ec2:DescribeInstances=0":            "weight must be a number > 0",
		"ec2:DescribeInstances=x":            "weight must be a number > 0",
		"ec2-DescribeInstances":              "want service:Operation",
		"ec2:Nope":                           "unknown API; supported: dynamodb:GetItem",
		"s3:GetObject,s3:getobject=2":        "s3:GetObject given twice",
		"ec2:DescribeInstances=5,sqs:Send=1": `mix entry 2 "sqs:Send=1"`,
	} {
		_, err := load.ParseMix(in)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), "load: ") {
			t.Errorf("ParseMix(%q) = %v, want an error containing %q", in, err, msg)
		}
	}
}

// startEmulator serves an emulator with rules on a loopback port for the test's lifetime.
func startEmulator(t *testing.T, rules limiter.Rules) *emulator.Emulator {
	t.Helper()
	e, err := emulator.New(emulator.Options{Rules: rules, Seed: 7})
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

// tightRules are AWS's defaults with EC2's DescribeInstances and DynamoDB's reads cut down so
// that a short run is throttled.
func tightRules() limiter.Rules {
	return append(limiter.Rules{
		{Name: "tight-ec2", Service: "EC2", Operation: "DescribeInstances", Rate: 10, Burst: 10},
		{Name: "tight-ddb", Service: "DynamoDB", Operation: "GetItem|Query", Rate: 15, Burst: 5},
	}, limiter.DefaultRules()...)
}

// TestReportAgreesWithTheServer runs a short load with tollgate against a throttling emulator
// and checks the report, tollgate's metrics and the emulator's own count of what it answered
// tell the same story.
func TestReportAgreesWithTheServer(t *testing.T) {
	e := startEmulator(t, tightRules())
	reg := prometheus.NewRegistry()
	col, err := metrics.Register(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mix, err := load.ParseMix("ec2:DescribeInstances=2,dynamodb:GetItem=1,sts:GetCallerIdentity=1")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := load.Run(context.Background(), load.Config{
		Endpoint: e.URL(), Mix: mix, Duration: 1500 * time.Millisecond, Rate: 80, Timeout: 3 * time.Second,
		Observer: col, Seed: 1, Keys: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	byAPI := map[string]load.APIStats{}
	for _, a := range rep.APIs {
		byAPI[a.API] = a
	}
	ec2 := byAPI["ec2:DescribeInstances"]
	if ec2.Calls < 40 || ec2.Throttled == 0 || ec2.Attempts <= ec2.Calls {
		t.Errorf("EC2: %+v; want ~60 calls, some throttled and retried", ec2)
	}
	if s := byAPI["sts:GetCallerIdentity"]; s.Throttled != 0 || s.Failed != 0 || s.Attempts != s.Calls {
		t.Errorf("STS (no quota): %+v; want every call to succeed at once", s)
	}
	if rep.Total.Calls != ec2.Calls+byAPI["dynamodb:GetItem"].Calls+byAPI["sts:GetCallerIdentity"].Calls {
		t.Errorf("total calls %d do not add up: %+v", rep.Total.Calls, rep.APIs)
	}

	// The emulator answered exactly the attempts the report counted (setup calls aside), and
	// throttled exactly those it says.
	server := counters(t, e.Gatherer(), "tollgate_emulator_requests_total", "result")
	client := counters(t, reg, metrics.NameAttempts, "outcome")
	for api, svcOp := range map[string]string{"ec2:DescribeInstances": "EC2/DescribeInstances", "sts:GetCallerIdentity": "STS/GetCallerIdentity"} {
		a := byAPI[api]
		if got := server[svcOp+"/accepted"] + server[svcOp+"/throttled"]; got != float64(a.Attempts) {
			t.Errorf("%s: the emulator answered %v requests, the report counted %d attempts", api, got, a.Attempts)
		}
		if got := server[svcOp+"/throttled"]; got != float64(a.Throttled) {
			t.Errorf("%s: the emulator throttled %v, the report says %d", api, got, a.Throttled)
		}
		if got := client[svcOp+"/throttled"]; got != float64(a.Throttled) {
			t.Errorf("%s: tollgate_attempts_total{outcome=throttled} = %v, the report says %d", api, got, a.Throttled)
		}
	}
	// GetItem's setup PutItems went through other clients: compare GetItem only.
	if got, a := server["DynamoDB/GetItem/accepted"]+server["DynamoDB/GetItem/throttled"], byAPI["dynamodb:GetItem"]; got != float64(a.Attempts) {
		t.Errorf("GetItem: the emulator answered %v, the report counted %d attempts", got, a.Attempts)
	}

	for _, f := range load.Formats {
		var b bytes.Buffer
		if err := rep.Write(&b, f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "ec2:DescribeInstances") {
			t.Errorf("%s report lacks the EC2 row:\n%s", f, b.String())
		}
		if f == "json" {
			var back load.Report
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Total.Calls != rep.Total.Calls {
				t.Errorf("JSON report does not round-trip: %v", err)
			}
		}
	}
}

// TestLimiterRefusesInsteadOfAWS runs the same EC2 load without and with tollgate's limiter set
// to the emulator's own bucket: with it, AWS throttles (almost) nothing and tollgate refuses or
// delays instead.
func TestLimiterRefusesInsteadOfAWS(t *testing.T) {
	rules := tightRules()
	mix, _ := load.ParseMix("ec2:DescribeInstances")
	run := func(cfg load.Config) load.APIStats {
		e := startEmulator(t, rules)
		cfg.Endpoint, cfg.Mix, cfg.Duration, cfg.Rate, cfg.Timeout, cfg.Seed = e.URL(), mix, time.Second, 60, 300*time.Millisecond, 3
		rep, err := load.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rep.APIs[0]
	}
	sdk := run(load.Config{NoTollgate: true})
	limited := run(load.Config{Limiter: limiter.New(rules, limiter.WithMaxWait(200*time.Millisecond))})
	if sdk.Throttled < 20 {
		t.Errorf("SDK standard retryer: %d throttled, want many (60/s offered to a 10/s bucket)", sdk.Throttled)
	}
	if limited.Throttled > 2 || limited.Refused == 0 {
		t.Errorf("tollgate with the bucket's own rule: %d throttled (want ~0), %d refused (want > 0): %+v", limited.Throttled, limited.Refused, limited)
	}
}

// counters gathers g's counter name into "Service/Operation/<label>" → value.
func counters(t *testing.T, g prometheus.Gatherer, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name || mf.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out[l["aws_service"]+"/"+l["operation"]+"/"+l[label]] += m.GetCounter().GetValue()
		}
	}
	return out
}
