package limiter

import (
	"errors"
	"testing"
	"time"
)

// drain calls Allow until the key is refused and returns how many calls were admitted.
func drain(t *testing.T, l *Limiter, now time.Time, k Key, units int) int {
	t.Helper()
	for n := 0; ; n++ {
		if ok, _ := l.Allow(now, k, units); !ok {
			return n
		}
		if n > 1_000_000 {
			t.Fatal("bucket never ran dry")
		}
	}
}

func TestSharedScopeShares(t *testing.T) {
	l := New(DefaultRules())
	kms := func(op, region string) Key { return Key{Region: region, Service: "KMS", Operation: op} }

	// KMS symmetric cryptographic operations share 10,000/s in most Regions: 6,000 Encrypt
	// leave 4,000 for Decrypt and GenerateDataKey together.
	for range 6000 {
		if ok, _ := l.Allow(t0, kms("Encrypt", "sa-east-1"), 1); !ok {
			t.Fatal("Encrypt refused within the quota")
		}
	}
	if n := drain(t, l, t0, kms("Decrypt", "sa-east-1"), 1); n != 4000 {
		t.Errorf("Decrypt admitted %d after 6000 Encrypt, want 4000 (shared 10,000)", n)
	}
	if ok, rule := l.Allow(t0, kms("GenerateDataKey", "sa-east-1"), 1); ok || rule != "kms-symmetric" {
		t.Errorf("GenerateDataKey = %v %q, want refused by kms-symmetric", ok, rule)
	}
	// Another Region has its own bucket, and us-east-1 has 100,000.
	if n := drain(t, l, t0, kms("Decrypt", "us-east-1"), 1); n != 100_000 {
		t.Errorf("us-east-1 Decrypt admitted %d, want 100000", n)
	}
	if n := drain(t, l, t0, kms("Encrypt", "eu-central-1"), 1); n != 20_000 {
		t.Errorf("eu-central-1 Encrypt admitted %d, want 20000", n)
	}
	// DescribeKey is not in the shared quota: its own 2,000.
	if n := drain(t, l, t0, kms("DescribeKey", "sa-east-1"), 1); n != 2000 {
		t.Errorf("DescribeKey admitted %d, want 2000", n)
	}

	// Lambda: the rest of the control plane shares 15/s; GetFunction has its own 100.
	lam := func(op string) Key { return Key{Region: "us-east-1", Service: "Lambda", Operation: op} }
	for range 10 {
		l.Allow(t0, lam("ListFunctions"), 1)
	}
	if n := drain(t, l, t0, lam("CreateFunction"), 1); n != 5 {
		t.Errorf("CreateFunction admitted %d after 10 ListFunctions, want 5 (shared 15)", n)
	}
	if n := drain(t, l, t0, lam("GetFunction"), 1); n != 100 {
		t.Errorf("GetFunction admitted %d, want its own 100", n)
	}
	if n := drain(t, l, t0, lam("GetPolicy"), 1); n != 15 {
		t.Errorf("GetPolicy admitted %d, want its own 15", n)
	}
}

func TestPerOperationScopeSeparates(t *testing.T) {
	l := New(DefaultRules())
	ec2 := func(op string) Key { return Key{Region: "us-east-1", Service: "EC2", Operation: op} }
	// EC2 evaluates each action in its own bucket: draining DescribeInstances leaves
	// DescribeVolumes full, though the same rule (category) covers both.
	if n := drain(t, l, t0, ec2("DescribeInstances"), 1); n != 100 {
		t.Fatalf("DescribeInstances admitted %d, want burst 100", n)
	}
	if n := drain(t, l, t0, ec2("DescribeVolumes"), 1); n != 100 {
		t.Errorf("DescribeVolumes admitted %d, want its own 100", n)
	}
	// The unfiltered variant has its own, smaller bucket.
	op, ok := UnfilteredOperation("DescribeInstances")
	if !ok || op != "DescribeInstances:unfiltered" {
		t.Fatalf("UnfilteredOperation = %q %v", op, ok)
	}
	if n := drain(t, l, t0, ec2(op), 1); n != 50 {
		t.Errorf("unfiltered DescribeInstances admitted %d, want 50", n)
	}
	if _, ok := UnfilteredOperation("DescribeImages"); ok {
		t.Error("DescribeImages has no unfiltered bucket")
	}
	// Per Region.
	if n := drain(t, l, t0, Key{Region: "eu-west-1", Service: "EC2", Operation: "DescribeInstances"}, 1); n != 100 {
		t.Errorf("eu-west-1 DescribeInstances admitted %d, want 100", n)
	}
}

func TestPartitionsByPrefix(t *testing.T) {
	l := New(DefaultRules())
	s3 := func(op, bucket, prefix string) Key {
		return Key{Region: "us-east-1", Service: "S3", Operation: op, Resource: bucket, Prefix: prefix}
	}
	if n := drain(t, l, t0, s3("GetObject", "logs", "2026/03/"), 1); n != 5500 {
		t.Errorf("GET on one prefix admitted %d, want 5500", n)
	}
	// HEAD shares the prefix's read bucket; PUT has its own write bucket of 3,500.
	if ok, _ := l.Allow(t0, s3("HeadObject", "logs", "2026/03/"), 1); ok {
		t.Error("HEAD admitted on a prefix whose GET/HEAD bucket is empty")
	}
	if n := drain(t, l, t0, s3("PutObject", "logs", "2026/03/"), 1); n != 3500 {
		t.Errorf("PUT admitted %d, want 3500", n)
	}
	// Another prefix, or the same prefix in another bucket, is another partition.
	if n := drain(t, l, t0, s3("GetObject", "logs", "2026/04/"), 1); n != 5500 {
		t.Errorf("GET on a second prefix admitted %d, want 5500", n)
	}
	if n := drain(t, l, t0, s3("GetObject", "other", "2026/03/"), 1); n != 5500 {
		t.Errorf("GET in a second bucket admitted %d, want 5500", n)
	}
	// Resource and prefix are not confused by where one ends and the other begins.
	if n := drain(t, l, t0, s3("GetObject", "logs2026", "/03/"), 1); n != 5500 {
		t.Errorf("GET on bucket logs2026 admitted %d, want 5500", n)
	}
	// DynamoDB partitions by table only: the prefix is ignored.
	ddb := func(table, prefix string) Key {
		return Key{Region: "us-east-1", Service: "DynamoDB", Operation: "GetItem", Resource: table, Prefix: prefix}
	}
	if n := drain(t, l, t0, ddb("orders", "a"), 1); n != 40000 {
		t.Errorf("GetItem admitted %d, want 40000", n)
	}
	if ok, _ := l.Allow(t0, ddb("orders", "b"), 1); ok {
		t.Error("a different Prefix got another DynamoDB bucket; partition is by table")
	}
}

func TestUnitsRuleIsAnAdditionalBucket(t *testing.T) {
	l := New(DefaultRules())
	run := Key{Region: "us-east-1", Service: "EC2", Operation: "RunInstances"}
	if r, ok := l.Match("EC2", "RunInstances", "us-east-1"); !ok || r.Burst != 5 || r.Rate != 2 {
		t.Fatalf("RunInstances request rule = %+v", r)
	}
	if r, ok := DefaultRules().MatchUnits("EC2", "RunInstances", "us-east-1"); !ok || r.Burst != 1000 || r.Rate != 2 {
		t.Fatalf("RunInstances resource rule = %+v", r)
	}
	// Four calls of 250 instances empty the resource bucket (the request bucket has 5).
	for i := range 4 {
		if ok, rule := l.Allow(t0, run, 250); !ok {
			t.Fatalf("call %d of 250 instances refused by %s", i, rule)
		}
	}
	// The fifth call has a request token but no instance tokens: refused by the units rule,
	// and its request token is not spent.
	if ok, rule := l.Allow(t0, run, 1); ok || rule != "ec2-instances-launch" {
		t.Fatalf("fifth call = %v %q, want refused by ec2-instances-launch", ok, rule)
	}
	if avail, _, _ := l.Tokens(t0, run); avail != 1 {
		t.Errorf("request tokens = %v, want 1 (the refused call must not spend one)", avail)
	}
	if avail, burst, _ := l.UnitTokens(t0, run); avail != 0 || burst != 1000 {
		t.Errorf("instance tokens = %v/%d, want 0/1000", avail, burst)
	}
	// One second later: 2 instances refilled.
	if ok, _ := l.Allow(at(time.Second), run, 3); ok {
		t.Error("3 instances admitted with 2 refilled")
	}
	if ok, _ := l.Allow(at(time.Second), run, 2); !ok {
		t.Error("2 instances refused with 2 refilled")
	}
	// Reserve: more instances than the bucket holds can never be admitted.
	_, err := l.Reserve(at(time.Second), run, 1001, time.Time{})
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != RefusedExceedsBurst || re.Rule != "ec2-instances-launch" {
		t.Fatalf("err = %v, want exceeds-burst from the units rule", err)
	}
	// Enforce mode waits for the slower of the two buckets: 10 instances at 2/s is 5s
	// (the 1s point had 0 instance tokens left).
	r, err := l.Reserve(at(time.Second), run, 10, time.Time{})
	if err != nil || r.Delay() != 5*time.Second || r.Rule() != "ec2-uncategorized-5-2" || r.UnitsRule() != "ec2-instances-launch" {
		t.Fatalf("Reserve = delay %v rule %q units %q err %v", r.Delay(), r.Rule(), r.UnitsRule(), err)
	}
	// Cancelling returns both buckets' tokens.
	r.Cancel(at(time.Second))
	if avail, _, _ := l.UnitTokens(at(time.Second), run); avail != 0 {
		t.Errorf("instance tokens after cancel = %v, want 0", avail)
	}
	// TerminateInstances: 100/5 requests, 1000/20 instances.
	term := Key{Region: "us-east-1", Service: "EC2", Operation: "TerminateInstances"}
	if n := drain(t, l, t0, term, 20); n != 50 {
		t.Errorf("TerminateInstances of 20 instances admitted %d calls, want 50 (1000 instances)", n)
	}
}
