package emulator

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestEC2Operations(t *testing.T) {
	e := start(t, Options{Account: "111122223333", Seed: 7})
	client := ec2.NewFromConfig(sdkConfig(e, "us-east-2"))
	ctx := context.Background()

	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0abcdef1234567890"), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(3),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}},
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(run.Instances) != 3 || aws.ToString(run.OwnerId) != "111122223333" || aws.ToString(run.ReservationId) == "" {
		t.Fatalf("RunInstances = %d instances, owner %q, reservation %q; want 3, 111122223333, an ID",
			len(run.Instances), aws.ToString(run.OwnerId), aws.ToString(run.ReservationId))
	}
	var ids []string
	for _, in := range run.Instances {
		if in.State == nil || in.State.Name != types.InstanceStateNamePending || in.InstanceType != types.InstanceTypeT3Micro {
			t.Errorf("launched instance %+v: want pending t3.micro", in)
		}
		if in.LaunchTime == nil || in.LaunchTime.IsZero() {
			t.Errorf("instance %s has no launch time", aws.ToString(in.InstanceId))
		}
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(run.ResultMetadata); !uuidPattern.MatchString(id) {
		t.Errorf("request ID = %q, want a UUID", id)
	}

	if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: ids[:1],
		Tags:      []types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1")}},
	}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}

	desc, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag:Name"), Values: []string{"web-*"}}},
	})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if len(desc.Reservations) != 1 || len(desc.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances tag:Name=web-* = %+v, want one instance", desc.Reservations)
	}
	got := desc.Reservations[0].Instances[0]
	if aws.ToString(got.InstanceId) != ids[0] || got.State.Name != types.InstanceStateNameRunning {
		t.Errorf("described %s in state %s, want %s running", aws.ToString(got.InstanceId), got.State.Name, ids[0])
	}
	tags := map[string]string{}
	for _, tg := range got.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["Name"] != "web-1" || tags["team"] != "payments" {
		t.Errorf("tags = %v, want Name=web-1 and team=payments", tags)
	}

	// Pagination: MaxResults 5 over 3 instances plus 4 more gives pages of 5 and 2.
	if _, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0abcdef1234567890"), MinCount: aws.Int32(4), MaxCount: aws.Int32(4),
	}); err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	var pages []int
	p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeInstances page: %v", err)
		}
		n := 0
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				seen[aws.ToString(in.InstanceId)] = true
				n++
			}
		}
		pages = append(pages, n)
	}
	if len(pages) != 2 || pages[0] != 5 || pages[1] != 2 || len(seen) != 7 {
		t.Errorf("pages = %v covering %d instances, want [5 2] covering 7", pages, len(seen))
	}

	term, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	if len(term.TerminatingInstances) != 3 {
		t.Fatalf("TerminateInstances changed %d instances, want 3", len(term.TerminatingInstances))
	}
	for _, c := range term.TerminatingInstances {
		if c.PreviousState.Name != types.InstanceStateNameRunning || c.CurrentState.Name != types.InstanceStateNameShuttingDown {
			t.Errorf("%s: %s -> %s, want running -> shutting-down", aws.ToString(c.InstanceId), c.PreviousState.Name, c.CurrentState.Name)
		}
	}
	after, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"terminated"}}},
	})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	var terminated []string
	for _, r := range after.Reservations {
		for _, in := range r.Instances {
			terminated = append(terminated, aws.ToString(in.InstanceId))
		}
	}
	sort.Strings(terminated)
	sort.Strings(ids)
	if len(terminated) != 3 || terminated[0] != ids[0] || terminated[2] != ids[2] {
		t.Errorf("terminated = %v, want %v", terminated, ids)
	}

	// Another Region sees none of these instances.
	other := ec2.NewFromConfig(sdkConfig(e, "eu-west-1"))
	_, err = other.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids[:1]})
	if code, status, _ := apiErrorOf(t, err); code != "InvalidInstanceID.NotFound" || status != http.StatusBadRequest {
		t.Errorf("other Region: (%q, %d), want (InvalidInstanceID.NotFound, 400)", code, status)
	}
}

// TestEC2DescribeInstancesBurst is the acceptance check: a burst of 300 filtered
// DescribeInstances calls within one second gets exactly the bucket's 100 tokens, then the
// refill of 20 per second; unfiltered, unpaginated calls get the 50/10 bucket.
func TestEC2DescribeInstancesBurst(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now})
	client := ec2.NewFromConfig(sdkConfig(e, "us-east-1"))
	filtered := &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}},
	}
	unfiltered := &ec2.DescribeInstancesInput{}

	// burst sends n calls from 10 goroutines while the clock stands still (all "within the
	// same instant") and counts the outcomes.
	burst := func(in *ec2.DescribeInstancesInput, n int) (accepted, throttled int) {
		var acc, thr atomic.Int64
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 10 {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					_, err := client.DescribeInstances(context.Background(), in)
					if err == nil {
						acc.Add(1)
						continue
					}
					code, status, id := apiErrorOf(t, err)
					if code != "RequestLimitExceeded" || status != http.StatusServiceUnavailable || !uuidPattern.MatchString(id) {
						t.Errorf("throttle decoded as (%q, %d, %q), want (RequestLimitExceeded, 503, a UUID)", code, status, id)
					}
					thr.Add(1)
				}
			})
		}
		wg.Wait()
		return int(acc.Load()), int(thr.Load())
	}

	if acc, thr := burst(filtered, 300); acc != 100 || thr != 200 {
		t.Errorf("300 filtered calls in one instant: %d accepted, %d throttled; want 100 and 200", acc, thr)
	}
	for s := 1; s <= 3; s++ {
		clock.Advance(time.Second)
		if acc, _ := burst(filtered, 60); acc < 19 || acc > 21 {
			t.Errorf("second %d: %d filtered calls accepted, want 20 (±1)", s, acc)
		}
	}
	// The unfiltered, unpaginated variant has its own bucket: 50, then 10 per second.
	if acc, _ := burst(unfiltered, 120); acc != 50 {
		t.Errorf("unfiltered burst: %d accepted, want 50", acc)
	}
	clock.Advance(time.Second)
	if acc, _ := burst(unfiltered, 40); acc < 9 || acc > 11 {
		t.Errorf("unfiltered, one second later: %d accepted, want 10 (±1)", acc)
	}
}

// TestEC2RunInstancesResourceBucket: RunInstances takes one request token (5 / 2 per s) plus
// one resource token per instance (1000 / 2 per s); either bucket can throttle.
func TestEC2RunInstancesResourceBucket(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now})
	client := ec2.NewFromConfig(sdkConfig(e, "us-east-1"))
	runN := func(n int32) error {
		_, err := client.RunInstances(context.Background(), &ec2.RunInstancesInput{
			ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(n),
		})
		return err
	}
	if err := runN(600); err != nil {
		t.Fatalf("600 instances from a full resource bucket: %v", err)
	}
	if code, _, _ := apiErrorOf(t, runN(600)); code != "RequestLimitExceeded" {
		t.Errorf("600 more with 400 resource tokens left: %q, want RequestLimitExceeded", code)
	}
	if err := runN(400); err != nil {
		t.Errorf("400 with 400 resource tokens left: %v", err)
	}
	// The resource bucket is empty now: even one instance is refused, though request tokens
	// remain (a refused call takes no tokens from either bucket).
	if code := errorCode(runN(1)); code != "RequestLimitExceeded" {
		t.Errorf("1 instance with an empty resource bucket: %q, want RequestLimitExceeded", code)
	}
	clock.Advance(time.Second) // +2 resource tokens
	if err := runN(2); err != nil {
		t.Errorf("2 instances after one second's refill: %v", err)
	}
	if code := errorCode(runN(1)); code != "RequestLimitExceeded" {
		t.Errorf("a third instance in that second: %q, want RequestLimitExceeded", code)
	}
}
