// Command presigned uploads objects through S3 presigned PUT URLs and reads them back through
// presigned GET URLs — raw HTTP, no SDK client on the request path — first with a plain
// http.Client, then with tollgate's RoundTripper, which gives raw requests the same per-prefix
// buckets, backoff and Retry-After handling as SDK calls, re-reading each body through
// Request.GetBody when it retries.
//
// By default it starts tollgate's AWS emulator in process on 127.0.0.1, with S3's write rate
// scaled down so that a burst of uploads meets SlowDown:
//
//	go run ./examples/presigned
//	go run ./examples/presigned -uploads 400 -rate 100
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func main() {
	uploads := flag.Int("uploads", 200, "objects to upload, 16 at a time")
	rate := flag.Int("rate", 50, "writes per second the S3 prefix serves (AWS: 3500)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *uploads, *rate); err != nil {
		log.Fatal(err)
	}
}

// outcome is what one pass of uploads saw.
type outcome struct {
	ok, failed, slowDowns, verified int
}

func run(ctx context.Context, w io.Writer, uploads, rate int) error {
	if uploads < 1 || rate < 1 {
		return errors.New("presigned: -uploads and -rate must be ≥ 1")
	}
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
	fmt.Fprintf(w, "%d uploads through presigned PUT URLs, 16 at a time; the prefix takes %d writes/s\n\n", uploads, rate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tuploads ok\tfailed\tSlowDown answers\tread back identical\t")
	for _, withTollgate := range []bool{false, true} {
		o, err := pass(ctx, rules, uploads, withTollgate)
		if err != nil {
			return err
		}
		name := "http.DefaultTransport"
		if withTollgate {
			name = "tollgate RoundTripper"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", name, o.ok, o.failed, o.slowDowns, o.verified)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nA plain client passes SlowDown to the caller. tollgate's RoundTripper paces the prefix on the")
	fmt.Fprintln(w, "client and retries what S3 still refuses, re-reading each body, so every upload lands intact.")
	return nil
}

func pass(ctx context.Context, rules limiter.Rules, uploads int, withTollgate bool) (outcome, error) {
	var o outcome
	emu, err := emulator.New(emulator.Options{Rules: rules, Seed: 1, PartitionedPrefixes: []string{"uploads/in/"}})
	if err != nil {
		return o, err
	}
	emuCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := emu.Start(emuCtx); err != nil {
		return o, err
	}
	defer emu.Close()

	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("uploads")}); err != nil {
		return o, err
	}
	presigner := s3.NewPresignClient(s3c)

	base := &http.Transport{MaxIdleConnsPerHost: 16}
	defer base.CloseIdleConnections()
	counter := &slowDowns{next: base}
	var transport http.RoundTripper = counter
	if withTollgate {
		tg, err := middleware.New(middleware.Config{
			Limiter: limiter.New(rules),
			Policy:  backoff.Policy{MaxAttempts: 5},
		})
		if err != nil {
			return o, err
		}
		transport = tg.NewRoundTripper(counter, nil)
	}
	client := &http.Client{Transport: transport}

	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				key := fmt.Sprintf("in/object-%04d", n)
				body := make([]byte, 4096+n)
				rand.NewChaCha8([32]byte{byte(n), byte(n >> 8)}).Read(body)
				ok, same := upload(ctx, presigner, client, key, body)
				mu.Lock()
				if ok {
					o.ok++
				} else {
					o.failed++
				}
				if same {
					o.verified++
				}
				mu.Unlock()
			}
		}()
	}
	for n := 0; n < uploads; n++ {
		work <- n
	}
	close(work)
	wg.Wait()
	o.slowDowns = counter.count()
	return o, nil
}

// upload PUTs body through a presigned URL and, when that worked, GETs it back through another.
func upload(ctx context.Context, presigner *s3.PresignClient, client *http.Client, key string, body []byte) (ok, same bool) {
	put, err := presigner.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)})
	if err != nil {
		return false, false
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, put.URL, bytes.NewReader(body)) // sets GetBody
	resp, err := client.Do(req)
	if err != nil {
		return false, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, false
	}
	get, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)})
	if err != nil {
		return true, false
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, get.URL, nil)
	resp, err = client.Do(req)
	if err != nil {
		return true, false
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return true, err == nil && bytes.Equal(got, body)
}

// slowDowns counts 503 answers on their way back.
type slowDowns struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (s *slowDowns) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
	}
	return resp, err
}

func (s *slowDowns) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
