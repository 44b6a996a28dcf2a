package middleware

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func mustRules(t *testing.T, yaml string) limiter.Rules {
	t.Helper()
	rs, err := limiter.ParseRules("test-rules.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const tinyGetItemRules = `
rules:
  - name: ddb-getitem-tiny
    service: DynamoDB
    operation: GetItem
    rate: 1
    burst: 1
    source: test
`

// Throttled attempts are retried with tollgate's backoff and the calls succeed; every throttle
// was followed by a scheduled backoff.
func TestThrottledAttemptsAreRetriedAndSucceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Rules: mustRules(t, tinyGetItemRules), Seed: 1})
		rec := &recorder{}
		tg, err := New(Config{Policy: backoff.Policy{MaxAttempts: 8}, Seed: 1, Observer: rec})
		if err != nil {
			t.Fatal(err)
		}
		hc := newHandlerClient(emu)
		client := dynamodb.NewFromConfig(awsConfig("http://emulator.test", hc), func(o *dynamodb.Options) {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		})
		for i := 0; i < 4; i++ {
			_, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
				TableName: aws.String("orders"),
				Key: map[string]ddbtypes.AttributeValue{
					"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}},
			})
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		throttled := 0
		for _, e := range rec.kinds(event.AttemptFinished) {
			if e.Outcome == backoff.Throttle {
				throttled++
				if e.ErrorCode != "ProvisionedThroughputExceededException" || e.Status != 400 {
					t.Errorf("throttle event %+v: want ProvisionedThroughputExceededException/400", e)
				}
			}
		}
		if throttled == 0 {
			t.Fatal("no attempt was throttled: the test does not exercise retries")
		}
		if got := len(rec.kinds(event.BackoffScheduled)); got != throttled {
			t.Errorf("%d throttled attempts but %d backoffs scheduled", throttled, got)
		}
		if got := hc.count(400); got != throttled {
			t.Errorf("emulator sent %d throttles, tollgate saw %d", got, throttled)
		}
		calls := rec.kinds(event.CallFinished)
		if len(calls) != 4 {
			t.Fatalf("%d calls finished, want 4", len(calls))
		}
		for _, c := range calls {
			if c.Outcome != backoff.Success || c.Service != "DynamoDB" || c.Operation != "GetItem" {
				t.Errorf("call event %+v", c)
			}
		}
		t.Logf("4 calls, %d attempts, %d throttled", len(rec.kinds(event.AttemptFinished)), throttled)
	})
}

// fleetResult is what one fleet run saw from the client side.
type fleetResult struct {
	attempts, throttled, calls, failed, refused int
}

// runFleet runs 50 goroutines calling EC2 DescribeInstances (filtered, so the 100-burst 20/s
// bucket applies) for 10 virtual seconds against the emulator with AWS's default buckets and a
// 100 ms response time (DescribeInstances is not fast).
func runFleet(t *testing.T, configure func(o *ec2.Options)) fleetResult {
	var res fleetResult
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Latency: 100 * time.Millisecond, Seed: 3})
		hc := newHandlerClient(emu)
		client := ec2.NewFromConfig(awsConfig("http://emulator.test", hc), configure)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < 50; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
						Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}},
					})
					if ctx.Err() != nil {
						return // the run ended mid-call
					}
					var refused *limiter.RefusedError
					if errors.As(err, &refused) {
						// The limiter says the next token comes after the run's deadline: this
						// worker is done (it would otherwise spin on immediate refusals).
						mu.Lock()
						res.refused++
						mu.Unlock()
						return
					}
					mu.Lock()
					res.calls++
					if err != nil {
						res.failed++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		res.throttled = hc.count(503)
		res.attempts = hc.total()
	})
	return res
}

// With rules matching the emulator's buckets, a fleet of 50 goroutines hammering EC2
// DescribeInstances for 10 s sees under 1% of its attempts throttled; the SDK's default retryer
// gets most of its attempts throttled.
func TestFleetDescribeInstancesStaysUnderLimit(t *testing.T) {
	sdk := runFleet(t, func(o *ec2.Options) {})

	tg, err := New(Config{Limiter: limiter.New(limiter.DefaultRules()), Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	withTollgate := runFleet(t, func(o *ec2.Options) {
		o.Retryer = tg.NewRetryer()
		o.APIOptions = append(o.APIOptions, tg.AddToStack)
	})

	share := func(r fleetResult) float64 { return float64(r.throttled) / float64(r.attempts) }
	t.Logf("SDK default retryer: %d calls (%d failed), %d attempts, %d throttled (%.1f%%)",
		sdk.calls, sdk.failed, sdk.attempts, sdk.throttled, 100*share(sdk))
	t.Logf("tollgate:            %d calls (%d failed), %d attempts, %d throttled (%.2f%%); %d workers stopped by a deadline refusal",
		withTollgate.calls, withTollgate.failed, withTollgate.attempts, withTollgate.throttled, 100*share(withTollgate), withTollgate.refused)
	if share(withTollgate) >= 0.01 {
		t.Errorf("tollgate: %.2f%% of attempts throttled, want < 1%%", 100*share(withTollgate))
	}
	if share(sdk) <= 0.5 {
		t.Errorf("SDK default: only %.1f%% of attempts throttled; the fleet is not overloading the bucket", 100*share(sdk))
	}
	// 10 s of a 100-burst, 20/s bucket admit 100 + 20·10 = 300 calls; tollgate should use them.
	if withTollgate.calls < 290 || withTollgate.failed > 0 {
		t.Errorf("tollgate completed %d calls (%d failed), want ≈300 successes", withTollgate.calls, withTollgate.failed)
	}
}
