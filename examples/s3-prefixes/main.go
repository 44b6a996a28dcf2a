// Command s3-prefixes runs many workers writing to one hot S3 key prefix and a few cold ones,
// twice: with the SDK's default retryer, then with tollgate. S3 serves each partitioned prefix
// at a fixed rate (3,500 writes/s in AWS; scaled down here so a laptop can exceed it) and
// answers 503 SlowDown beyond it. The bucket is an established one: S3 has already given each
// prefix its own partition.
//
// The SDK's retryer knows nothing of partitions: the hot prefix's writers send until S3 refuses,
// back off, and — once the hot prefix's SlowDowns have drained the client's one retry quota —
// fail at the first refusal. tollgate keeps a client-side bucket per prefix shaped like the
// partition, so the hot prefix's writers wait their turn on the client and S3 refuses almost
// nothing; the cold prefixes are not slowed by the hot one.
//
// By default it starts tollgate's AWS emulator in process on 127.0.0.1:
//
//	go run ./examples/s3-prefixes
//	go run ./examples/s3-prefixes -hot 48 -cold 8 -rate 300 -duration 10s
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func main() {
	hot := flag.Int("hot", 24, "workers writing to the hot prefix")
	cold := flag.Int("cold", 8, "workers writing to cold prefixes, one prefix each")
	rate := flag.Int("rate", 200, "writes per second each S3 partition serves (AWS: 3500)")
	duration := flag.Duration("duration", 6*time.Second, "how long each run lasts")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *hot, *cold, *rate, *duration); err != nil {
		log.Fatal(err)
	}
}

// group is what the workers of one kind (hot or cold) saw.
type group struct {
	ok, failed, throttled int
}

func run(ctx context.Context, w io.Writer, hot, cold, rate int, duration time.Duration) error {
	if hot < 1 || cold < 0 || rate < 1 || duration <= 0 {
		return errors.New("s3-prefixes: need -hot ≥ 1, -cold ≥ 0, -rate ≥ 1, -duration > 0")
	}
	// The same write rate per prefix on both sides: the emulator's partitions, tollgate's buckets.
	rules, err := limiter.ParseRules("s3-rules.yaml", []byte(fmt.Sprintf(`
rules:
  - name: s3-write
    service: S3
    operation: Put*
    rate: %d
    burst: %d
    partition: prefix
    source: scaled down from 3,500/s per partitioned prefix (S3 user guide)
`, rate, rate)))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d workers on prefix hot/, %d on cold-N/; each S3 partition takes %d writes/s; %v per run\n\n",
		hot, cold, rate, duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "retryer\tprefix\tputs ok\tputs failed\tSlowDown answers\t")
	for _, withTollgate := range []bool{false, true} {
		name := "SDK default"
		if withTollgate {
			name = "tollgate"
		}
		groups, err := writeRun(ctx, rules, hot, cold, duration, withTollgate)
		if err != nil {
			return err
		}
		for _, g := range []string{"hot", "cold"} {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t\n", name, g, groups[g].ok, groups[g].failed, groups[g].throttled)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nThe SDK sends the hot prefix's writes until S3 refuses them and then backs off blindly; once the")
	fmt.Fprintln(w, "SlowDowns have drained its one retry quota, refused writes fail outright. tollgate paces each")
	fmt.Fprintln(w, "prefix to its partition's rate on the client, so S3 refuses almost nothing; cold prefixes have")
	fmt.Fprintln(w, "buckets of their own and are not slowed by the hot one.")
	return nil
}

func writeRun(ctx context.Context, rules limiter.Rules, hot, cold int, duration time.Duration, withTollgate bool) (map[string]*group, error) {
	partitioned := []string{"data/hot/"}
	for i := 0; i < cold; i++ {
		partitioned = append(partitioned, fmt.Sprintf("data/cold-%d/", i))
	}
	emu, err := emulator.New(emulator.Options{Rules: rules, Seed: 1, Latency: 5 * time.Millisecond,
		PartitionedPrefixes: partitioned})
	if err != nil {
		return nil, err
	}
	emuCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := emu.Start(emuCtx); err != nil {
		return nil, err
	}
	defer emu.Close()

	transport := &http.Transport{MaxIdleConnsPerHost: hot + cold}
	defer transport.CloseIdleConnections()
	counter := &statusCounter{next: &http.Client{Transport: transport}, by: map[string]int{}}
	cfg := aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(emu.URL()), HTTPClient: counter,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	opts := func(o *s3.Options) { o.UsePathStyle = true }
	if withTollgate {
		tg, err := middleware.New(middleware.Config{Limiter: limiter.New(rules)})
		if err != nil {
			return nil, err
		}
		opts = func(o *s3.Options) {
			o.UsePathStyle = true
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		}
	}
	client := s3.NewFromConfig(cfg, opts)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		return nil, err
	}

	groups := map[string]*group{"hot": {}, "cold": {}}
	runCtx, stop := context.WithTimeout(ctx, duration)
	defer stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	worker := func(kind, prefix string) {
		defer wg.Done()
		body := bytes.Repeat([]byte("x"), 1024)
		for i := 0; runCtx.Err() == nil; i++ {
			_, err := client.PutObject(runCtx, &s3.PutObjectInput{
				Bucket: aws.String("data"), Key: aws.String(fmt.Sprintf("%s%d", prefix, i)), Body: bytes.NewReader(body),
			})
			if runCtx.Err() != nil {
				return
			}
			var refused *limiter.RefusedError
			if errors.As(err, &refused) {
				return // this worker's next token comes after the run's end
			}
			mu.Lock()
			if err != nil {
				groups[kind].failed++
			} else {
				groups[kind].ok++
			}
			mu.Unlock()
		}
	}
	for i := 0; i < hot; i++ {
		wg.Add(1)
		go worker("hot", "hot/")
	}
	for i := 0; i < cold; i++ {
		wg.Add(1)
		go worker("cold", fmt.Sprintf("cold-%d/", i))
	}
	wg.Wait()
	for kind, g := range groups {
		g.throttled = counter.count(kind, http.StatusServiceUnavailable)
	}
	return groups, nil
}

// statusCounter counts the answers per prefix kind ("hot" or "cold") and HTTP status.
type statusCounter struct {
	next *http.Client
	mu   sync.Mutex
	by   map[string]int
}

func (c *statusCounter) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err == nil {
		kind := "cold"
		if strings.HasPrefix(req.URL.Path, "/data/hot/") {
			kind = "hot"
		}
		c.mu.Lock()
		c.by[fmt.Sprint(kind, resp.StatusCode)]++
		c.mu.Unlock()
	}
	return resp, err
}

func (c *statusCounter) count(kind string, status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.by[fmt.Sprint(kind, status)]
}
