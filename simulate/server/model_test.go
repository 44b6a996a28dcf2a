package server

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
)

func newModel(t testing.TB, cfg Config) *Model {
	t.Helper()
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// count decides n requests at now and counts the accepted ones.
func count(m *Model, now time.Time, r Request, n int) int {
	ok := 0
	for range n {
		if m.Decide(now, r).Outcome == Accepted {
			ok++
		}
	}
	return ok
}

func TestModelEC2Buckets(t *testing.T) {
	m := newModel(t, Config{})
	filtered := Request{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	unfiltered := filtered
	unfiltered.Unfiltered = true

	if got := count(m, t0, filtered, 300); got != 100 {
		t.Errorf("filtered burst: %d accepted, want 100", got)
	}
	if got := count(m, t0, unfiltered, 300); got != 50 {
		t.Errorf("unfiltered burst (its own bucket): %d accepted, want 50", got)
	}
	for s := 1; s <= 5; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		if got := count(m, now, filtered, 100); got != 20 {
			t.Errorf("second %d filtered: %d, want 20", s, got)
		}
		if got := count(m, now, unfiltered, 100); got != 10 {
			t.Errorf("second %d unfiltered: %d, want 10", s, got)
		}
	}
	// Another Region has its own buckets.
	other := filtered
	other.Region = "eu-west-1"
	if got := count(m, t0.Add(5*time.Second), other, 300); got != 100 {
		t.Errorf("eu-west-1: %d accepted, want 100", got)
	}
	// A refusal names the rule.
	if v := m.Decide(t0.Add(5*time.Second), filtered); v.Outcome != Throttled || v.Rule != "ec2-non-mutating" {
		t.Errorf("refusal = %+v, want Throttled by ec2-non-mutating", v)
	}
}

func TestModelEC2ResourceBucket(t *testing.T) {
	m := newModel(t, Config{})
	run := func(at time.Duration, instances int) Verdict {
		return m.Decide(t0.Add(at), Request{Region: "us-east-1", Service: "EC2", Operation: "RunInstances", Units: instances})
	}
	if v := run(0, 1000); v.Outcome != Accepted {
		t.Fatalf("1000 instances from a full resource bucket: %+v", v)
	}
	if v := run(0, 1); v.Outcome != Throttled || v.Rule != "ec2-instances-launch" {
		t.Errorf("one more instance: %+v, want Throttled by ec2-instances-launch", v)
	}
	if v := run(time.Second, 2); v.Outcome != Accepted {
		t.Errorf("2 instances a second later: %+v", v)
	}
	// The request bucket (5, 2/s) throttles small launches on its own.
	m2 := newModel(t, Config{})
	var refusedBy string
	for i := range 6 {
		v := m2.Decide(t0, Request{Region: "us-east-1", Service: "EC2", Operation: "RunInstances", Units: 1})
		if i < 5 && v.Outcome != Accepted {
			t.Errorf("launch %d: %+v", i, v)
		}
		refusedBy = v.Rule
	}
	if refusedBy != "ec2-uncategorized-5-2" {
		t.Errorf("sixth launch refused by %q, want ec2-uncategorized-5-2", refusedBy)
	}
}

func TestModelFaultsComeFirst(t *testing.T) {
	faults := &FaultSchedule{Windows: []FaultWindow{
		{Service: "kms", Start: 10 * time.Second, Duration: time.Second, Mode: FaultError},
		{Service: "sts", Duration: time.Second, Mode: FaultThrottle},
	}}
	m := newModel(t, Config{Faults: faults})
	m.SetOrigin(t0)
	if faults.Origin != (time.Time{}) {
		t.Errorf("SetOrigin changed the caller's schedule")
	}
	kms := Request{Region: "us-east-1", Service: "KMS", Operation: "Decrypt"}
	sts := Request{Region: "us-east-1", Service: "STS", Operation: "GetCallerIdentity"}
	for _, c := range []struct {
		at   time.Duration
		r    Request
		want Verdict
	}{
		{0, sts, Verdict{Throttled, "fault"}},
		{time.Second, sts, Verdict{Accepted, ""}}, // no default STS rule: never throttled by buckets
		{10 * time.Second, kms, Verdict{Failed, "fault"}},
		{11 * time.Second, kms, Verdict{Accepted, ""}},
	} {
		if got := m.Decide(t0.Add(c.at), c.r); got != c.want {
			t.Errorf("+%v %s: %+v, want %+v", c.at, c.r.Service, got, c.want)
		}
	}
}

func TestNewModelRejectsBadConfig(t *testing.T) {
	bad := limiter.Rules{{Name: "x", Service: "EC2", Operation: "*", Rate: 0, Burst: 1}}
	if _, err := NewModel(Config{Rules: bad}); err == nil || !strings.HasPrefix(err.Error(), "server: rules: ") {
		t.Errorf("invalid rules: %v", err)
	}
	faults := &FaultSchedule{Windows: []FaultWindow{{Service: "ec2", Mode: FaultError}}}
	if _, err := NewModel(Config{Faults: faults}); err == nil || !strings.Contains(err.Error(), `"duration"`) {
		t.Errorf("invalid faults: %v", err)
	}
}

func TestMergeRules(t *testing.T) {
	base := limiter.Rules{
		{Name: "a", Service: "EC2", Operation: "Describe*", Rate: 20, Burst: 100},
		{Name: "b", Service: "EC2", Operation: "*", Rate: 5, Burst: 50},
	}
	over := limiter.Rules{
		{Name: "b", Service: "EC2", Operation: "*", Rate: 1, Burst: 1},
		{Name: "c", Service: "EC2", Operation: "DescribeVolumes", Rate: 2, Burst: 2},
	}
	got := MergeRules(base, over)
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "c,a,b" || got[2].Rate != 1 || base[1].Rate != 5 {
		t.Errorf("MergeRules = %v (b rate %v, base b rate %v), want c,a,b with b replaced and base untouched", names, got[2].Rate, base[1].Rate)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("merged rules invalid: %v", err)
	}
}

// BenchmarkLimiterAllow is the baseline: the limiter's own decision for the same EC2 key.
func BenchmarkLimiterAllow(b *testing.B) {
	lim := limiter.New(limiter.DefaultRules())
	key := limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		lim.Allow(now, key, 1)
	}
}

// BenchmarkModelDecideEC2 is the model's overhead over BenchmarkLimiterAllow: fault lookup
// (one window) and the request mapping.
func BenchmarkModelDecideEC2(b *testing.B) {
	m := newModel(b, Config{Faults: &FaultSchedule{Origin: t0, Windows: []FaultWindow{
		{Service: "s3", Start: time.Hour, Duration: time.Second, Mode: FaultError},
	}}})
	r := Request{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		m.Decide(now, r)
	}
}

// BenchmarkModelDecideS3 adds the partition model: a bucket lookup and the overload tracking.
func BenchmarkModelDecideS3(b *testing.B) {
	m := newModel(b, Config{})
	r := Request{Region: "us-east-1", Service: "S3", Operation: "PutObject", Resource: "bucket", Prefix: "logs/"}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(100 * time.Microsecond)
		m.Decide(now, r)
	}
}
