package load_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/metrics/sdkmetrics"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// handlerClient is an aws.HTTPClient that serves each request with the emulator's handler in
// the calling goroutine: the real emulator without a socket, so 10,000 calls stay quick.
type handlerClient struct{ h http.Handler }

func (c handlerClient) Do(req *http.Request) (*http.Response, error) {
	srv := req.Clone(req.Context())
	srv.Host = req.URL.Host
	srv.RequestURI = req.URL.RequestURI()
	if srv.Body == nil {
		srv.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, srv)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// TestRandomBucketsAndKeysAddNoSeries sends 10,000 S3 calls (2,000 rounds of 5) over 2,000
// random bucket names and 2,000 random object keys through a real S3 client with tollgate (limiter, retries, events into a metrics
// Collector) and the SDK metrics bridge, and checks that they add no series: after a warm-up
// with one bucket that exercises the same operations and outcomes, the set of series does not
// change, and no label value anywhere is a bucket name or a key.
func TestRandomBucketsAndKeysAddNoSeries(t *testing.T) {
	e, err := emulator.New(emulator.Options{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	col, err := metrics.Register(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := middleware.New(middleware.Config{Limiter: limiter.New(limiter.DefaultRules()), Observer: col, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  handlerClient{e}, MeterProvider: mp,
		Retryer: tg.NewRetryer(), APIOptions: []func(*smithymiddleware.Stack) error{tg.AddToStack},
	})
	ctx := context.Background()

	// Each round: put an object, get it, get and head a missing one, delete it.
	round := func(bucket, key string) error {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader([]byte("x"))}); err != nil {
			return err
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return err
		}
		out.Body.Close()
		missing := key + "-missing"
		var nsk *types.NoSuchKey
		if _, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &missing}); !errors.As(err, &nsk) {
			return fmt.Errorf("GetObject of a missing key: %v, want NoSuchKey", err)
		}
		var nf *types.NotFound
		if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &missing}); !errors.As(err, &nf) {
			return fmt.Errorf("HeadObject of a missing key: %v, want NotFound", err)
		}
		_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
		return err
	}
	if err := round("warm-up-bucket", "warm/up.json"); err != nil {
		t.Fatal(err)
	}
	before := seriesOf(t, reg)
	if len(before) < 50 {
		t.Fatalf("only %d series after the warm-up; the collectors are not wired", len(before))
	}

	// 10,000 calls: 2,000 rounds of 5, over random buckets and keys, from 4 goroutines.
	const rounds, workers = 2000, 4
	names := make(map[string]bool, 2*rounds)
	type bk struct{ bucket, key string }
	work := make([]bk, rounds)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range work {
		work[i] = bk{
			bucket: fmt.Sprintf("tenant-%08x-%04d", r.Uint32(), i),
			key:    fmt.Sprintf("users/%08x/%s/%d.json", r.Uint32(), []string{"a b", "ü", "x:y", "k=v"}[i%4], r.IntN(1e9)),
		}
		names[work[i].bucket], names[work[i].key] = true, true
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < rounds; i += workers {
				if err := round(work[i].bucket, work[i].key); err != nil {
					errs <- fmt.Errorf("round %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	after := seriesOf(t, reg)
	if added := diff(after, before); len(added) > 0 {
		t.Errorf("%d series added by random buckets and keys, e.g. %v", len(added), added[:min(5, len(added))])
	}
	if removed := diff(before, after); len(removed) > 0 {
		t.Errorf("%d series vanished: %v", len(removed), removed[:min(5, len(removed))])
	}
	for s := range after {
		for _, part := range strings.Split(s, "\"") {
			if names[part] {
				t.Fatalf("series %s carries a bucket name or key", s)
			}
		}
	}
	// And the calls were counted: 2,001 rounds of 2 GetObject calls each. A missing series is a
	// failure, not a skipped check.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, found := 0.0, false
	for _, mf := range mfs {
		if mf.GetName() != metrics.NameCalls {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "operation" && lp.GetValue() == "GetObject" {
					total += m.GetCounter().GetValue()
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatalf("no %s series with operation=\"GetObject\": the calls were not counted", metrics.NameCalls)
	}
	if total != 2*(rounds+1) {
		t.Errorf("GetObject calls counted: %v, want %d", total, 2*(rounds+1))
	}
}

// seriesOf returns the identity of every series reg exposes: name and labels, no values.
func seriesOf(t *testing.T, reg prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var l []string
			for _, lp := range m.GetLabel() {
				l = append(l, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			out[mf.GetName()+"{"+strings.Join(l, ",")+"}"] = true
		}
	}
	return out
}

func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
