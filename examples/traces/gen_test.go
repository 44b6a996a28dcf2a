// Package traces holds sample traces for the README and the tests that make them.
package traces

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

var update = flag.Bool("update", false, "rewrite the sample traces")

// controllerTrace generates ec2-controller.jsonl (see README.md): Poisson arrivals at 30/s in
// two 40 s bursts, 15 s apart, each decided by the server model with a 50-token bucket refilling
// 10 per second.
func controllerTrace(t *testing.T) []byte {
	t.Helper()
	const rate, burst = 10.0, 50
	rules := limiter.Rules{{Name: "ec2-describe-instances", Service: "EC2", Operation: "DescribeInstances", Rate: rate, Burst: burst, Source: "sample"}}
	m, err := server.NewModel(server.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := trace.NewWriter(&buf)
	rng := rand.New(rand.NewPCG(2025, 6))
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	req := server.Request{Region: "eu-west-1", Service: "EC2", Operation: "DescribeInstances"}
	for range 2 {
		end := now.Add(40 * time.Second)
		for {
			now = now.Add(time.Duration(rng.ExpFloat64() / 30 * float64(time.Second)))
			if !now.Before(end) {
				break
			}
			rec := trace.Record{Time: now, Service: "EC2", Operation: "DescribeInstances", Region: "eu-west-1",
				Outcome: trace.OutcomeSuccess, Status: 200, Client: "controller"}
			if m.Decide(now, req).Outcome == server.Throttled {
				rec.Outcome, rec.ErrorCode, rec.Status = trace.OutcomeThrottled, "RequestLimitExceeded", 503
			}
			if err := w.Write(&rec); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(15 * time.Second)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSampleTrace checks that ec2-controller.jsonl.gz holds what controllerTrace makes (the
// decompressed bytes: gzip's output may differ between Go versions), or rewrites it with -update.
func TestSampleTrace(t *testing.T) {
	const path = "ec2-controller.jsonl.gz"
	want := controllerTrace(t)
	if *update {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(want)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the generator makes (%d bytes, want %d): run go test -update", path, len(got), len(want))
	}
	lines := bytes.Count(want, []byte("\n"))
	throttled := bytes.Count(want, []byte("RequestLimitExceeded"))
	t.Logf("%d records, %d throttled", lines, throttled)
	if lines < 2000 || throttled < 500 {
		t.Errorf("%d records, %d throttled: not the sample the README describes", lines, throttled)
	}
}
