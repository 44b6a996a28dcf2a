package simulate_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

// writeSyntheticTrace writes n records in the native format to path: 10,000 requests per
// second of trace time, a mix of EC2 Describe calls (overloading their buckets), S3 GETs and
// PUTs over 200 prefixes, KMS Decrypts and DynamoDB writes, from 16 clients.
func writeSyntheticTrace(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := trace.NewWriter(bw)
	rng := rand.New(rand.NewPCG(42, 42))
	keys := make([]string, 2000)
	for i := range keys {
		keys[i] = fmt.Sprintf("p%03d/obj-%05d", i%200, i)
	}
	clients := make([]string, 16)
	for i := range clients {
		clients[i] = "client-" + strconv.Itoa(i)
	}
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		now = now.Add(time.Duration(rng.ExpFloat64() * 1e5)) // 10,000/s
		r := trace.Record{Time: now, Region: "us-east-1", Outcome: trace.OutcomeSuccess, Status: 200, Client: clients[rng.IntN(len(clients))]}
		switch x := rng.IntN(100); {
		case x < 1:
			r.Service, r.Operation = "EC2", "DescribeInstances"
		case x < 2:
			r.Service, r.Operation = "EC2", "DescribeVolumes"
		case x < 60:
			r.Service, r.Operation, r.Resource, r.Key = "S3", "GetObject", "data", keys[rng.IntN(len(keys))]
		case x < 80:
			r.Service, r.Operation, r.Resource, r.Key = "S3", "PutObject", "data", keys[rng.IntN(len(keys))]
		case x < 90:
			r.Service, r.Operation = "KMS", "Decrypt"
		default:
			r.Service, r.Operation, r.Resource = "DynamoDB", "PutItem", "orders"
		}
		if err := w.Write(&r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// BenchmarkReplayTrace replays a synthetic trace of TOLLGATE_REPLAY_RECORDS records (default
// 1,000,000; written by writeSyntheticTrace, about 195 bytes a record) through one strategy
// (TOLLGATE_REPLAY_STRATEGY, default tollgate) against AWS's default quotas, streaming it from
// disk as Replay always does: the prefetcher decodes it on a second goroutine while the engine
// simulates, so a replay uses up to two cores. For the 10M-request check:
//
//	TOLLGATE_REPLAY_RECORDS=10000000 TOLLGATE_REPLAY_STRATEGY=no-retry \
//	  go test -run NONE -bench ReplayTrace -benchtime 1x -timeout 30m ./simulate/
//
// Writing the trace is not timed; TOLLGATE_REPLAY_DIR=dir keeps it in dir for the next run.
//
// What it reports:
//
//	wall-s        wall-clock seconds of one Replay call (b.Elapsed / b.N): opening the file,
//	              decoding, simulating, building the report. Nothing else runs in the timed
//	              region; on a shared machine it includes waiting for a core.
//	cpu-s         this process's CPU time (user + system) over the same region, per replay
//	records/s     records replayed per second of wall time; attempts/s likewise
//	peak-heap-MB  the highest heap in use seen while replaying: runtime/metrics'
//	              /memory/classes/heap/objects + /memory/classes/heap/unused (the same bytes as
//	              runtime.MemStats.HeapInuse: spans holding objects), read every millisecond by
//	              a sampling goroutine after a full collection before the timed region. Reading
//	              runtime/metrics does not stop the world, so sampling does not slow the replay.
//	              Memory does not grow with the trace: compare 1M and 10M records.
func BenchmarkReplayTrace(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("TOLLGATE_REPLAY_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("TOLLGATE_REPLAY_RECORDS=%q: want a positive number", s)
		}
		n = v
	}
	var path string
	if dir := os.Getenv("TOLLGATE_REPLAY_DIR"); dir != "" {
		// Keep the trace there for the next run (writing 10M records takes a while).
		path = filepath.Join(dir, fmt.Sprintf("synthetic-%d.jsonl", n))
		if _, err := os.Stat(path); err != nil {
			writeSyntheticTrace(b, path+".tmp", n)
			if err := os.Rename(path+".tmp", path); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		path = filepath.Join(b.TempDir(), "trace.jsonl")
		writeSyntheticTrace(b, path, n)
	}
	strategy := "tollgate"
	if s := os.Getenv("TOLLGATE_REPLAY_STRATEGY"); s != "" {
		strategy = s
	}
	strategies, err := simulate.ParseStrategies(strategy, simulate.StrategyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	opts := simulate.ReplayOptions{Name: "synthetic", Rules: limiter.DefaultRules(), Timeout: 10 * time.Second,
		Open: func() (trace.Source, error) { return trace.Open(path, trace.FormatJSONL) }}
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if inUse := samples[0].Value.Uint64() + samples[1].Value.Uint64(); inUse > peak.Load() {
				peak.Store(inUse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cpu0 := cpuTime()
	b.ResetTimer()
	var attempts uint64
	for i := 0; i < b.N; i++ {
		c, err := simulate.Replay(context.Background(), strategies, opts)
		if err != nil {
			b.Fatal(err)
		}
		if got := c.Strategies[0].Requests; got != uint64(n) {
			b.Fatalf("replayed %d requests, want %d", got, n)
		}
		attempts += c.Strategies[0].Attempts
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	close(stop)
	<-done
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "wall-s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(attempts)/b.Elapsed().Seconds(), "attempts/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}

// cpuTime returns the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
