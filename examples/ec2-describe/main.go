// Command ec2-describe runs a fleet's worth of EC2 DescribeInstances calls — many workers
// polling at once, as autoscalers and inventory jobs do — twice: with the SDK's default retryer,
// then with tollgate. EC2 gives DescribeInstances a bucket of 100 tokens refilling 20 per second
// per account and Region; the SDK retryer does not know that, tollgate does.
//
// By default it starts tollgate's AWS emulator in process on 127.0.0.1, so it needs no AWS
// account:
//
//	go run ./examples/ec2-describe
//	go run ./examples/ec2-describe -workers 100 -duration 10s
//	go run ./examples/ec2-describe -endpoint http://127.0.0.1:4599   # a running `tollgate emulate`
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func main() {
	workers := flag.Int("workers", 50, "concurrent workers calling DescribeInstances")
	duration := flag.Duration("duration", 5*time.Second, "how long each run lasts")
	endpoint := flag.String("endpoint", "", "EC2 endpoint; empty starts the emulator in process")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *workers, *duration, *endpoint); err != nil {
		log.Fatal(err)
	}
}

// result is what one run saw.
type result struct {
	name                   string
	calls, failed, refused int
	attempts, throttled    int
	latencies              []time.Duration
}

func run(ctx context.Context, w io.Writer, workers int, duration time.Duration, endpoint string) error {
	results, err := runBoth(ctx, workers, duration, endpoint)
	if err != nil {
		return err
	}
	printResults(w, workers, duration, results)
	return nil
}

// runBoth runs the fleet with the SDK's default retryer, then with tollgate, each against a
// fresh emulator (so both start with full buckets) unless endpoint is given.
func runBoth(ctx context.Context, workers int, duration time.Duration, endpoint string) ([]result, error) {
	if workers < 1 || duration <= 0 {
		return nil, errors.New("ec2-describe: -workers must be ≥ 1 and -duration > 0")
	}
	var results []result
	for _, withTollgate := range []bool{false, true} {
		url := endpoint
		if url == "" {
			emu, err := emulator.New(emulator.Options{Latency: 20 * time.Millisecond, LatencyJitter: 10 * time.Millisecond, Seed: 1})
			if err != nil {
				return nil, err
			}
			runCtx, cancel := context.WithCancel(ctx)
			if err := emu.Start(runCtx); err != nil {
				cancel()
				return nil, err
			}
			url = emu.URL()
			defer func() { cancel(); emu.Close() }()
		}
		r, err := fleet(ctx, url, workers, duration, withTollgate)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	return results, nil
}

func printResults(w io.Writer, workers int, duration time.Duration, results []result) {
	fmt.Fprintf(w, "%d workers calling EC2 DescribeInstances (filtered: bucket of 100, +20/s) for %v each:\n\n", workers, duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "retryer\tcalls ok\tcalls failed\trefused by tollgate\tattempts\tthrottled\tthrottled %\tp50 call\tp99 call\t")
	for _, r := range results {
		sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%v\t%v\t\n", r.name, r.calls-r.failed, r.failed, r.refused, r.attempts, r.throttled,
			100*float64(r.throttled)/float64(max(r.attempts, 1)), quantile(r.latencies, 0.5), quantile(r.latencies, 0.99))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nThe SDK's retryer sends until AWS refuses, then backs off blindly and drains its retry quota, so")
	fmt.Fprintln(w, "calls fail outright. tollgate knows the bucket: attempts wait for their token on the client, and")
	fmt.Fprintln(w, "AWS refuses next to nothing. \"refused by tollgate\": calls tollgate's limiter refused on")
	fmt.Fprintln(w, "the client because their token would come after the run ends (the worker then stops); they are")
	fmt.Fprintln(w, "neither sent nor counted as calls.")
}

func fleet(ctx context.Context, endpoint string, workers int, duration time.Duration, withTollgate bool) (result, error) {
	counter := &countingClient{next: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}}
	defer counter.next.Transport.(*http.Transport).CloseIdleConnections()
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   counter,
	}
	res := result{name: "SDK default"}
	var client *ec2.Client
	if withTollgate {
		res.name = "tollgate"
		tg, err := middleware.New(middleware.Config{Limiter: limiter.New(limiter.DefaultRules())})
		if err != nil {
			return res, err
		}
		client = ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		})
	} else {
		client = ec2.NewFromConfig(cfg)
	}

	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				start := time.Now()
				_, err := client.DescribeInstances(runCtx, &ec2.DescribeInstancesInput{
					Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}},
				})
				if runCtx.Err() != nil {
					return
				}
				var refused *limiter.RefusedError
				mu.Lock()
				switch {
				case errors.As(err, &refused):
					res.refused++
					mu.Unlock()
					return // the next token comes after the run's end
				case err != nil:
					res.failed++
				}
				res.calls++
				res.latencies = append(res.latencies, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.attempts, res.throttled = counter.counts()
	return res, nil
}

// countingClient counts the attempts that reach the endpoint and how many were throttled.
type countingClient struct {
	next                *http.Client
	mu                  sync.Mutex
	attempts, throttled int
}

func (c *countingClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	c.mu.Lock()
	c.attempts++
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		c.throttled++
	}
	c.mu.Unlock()
	return resp, err
}

func (c *countingClient) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts, c.throttled
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))].Round(time.Millisecond)
}
