// Package tracetest makes the traces and input files the tests of hostile and careless input
// give tollgate (simulate's and cmd/tollgate's): a steady trace in native JSONL, shuffled or
// jiggled out of order with a seed, and files written into a directory.
package tracetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// WriteFiles writes name → content into dir and returns dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Lines writes native JSONL records of EC2 DescribeInstances at the given times, one in five
// throttled (chosen by the time, so that a record keeps its outcome wherever it is in the file).
func Lines(times []time.Time) string {
	var b strings.Builder
	for _, at := range times {
		outcome := "success"
		if (at.UnixNano()/1e7)%5 == 0 {
			outcome = "throttled"
		}
		fmt.Fprintf(&b, `{"time":%q,"service":"EC2","operation":"DescribeInstances","region":"us-east-1","outcome":%q}`+"\n",
			at.UTC().Format(time.RFC3339Nano), outcome)
	}
	return b.String()
}

// Steady returns n times 10 ms apart from 2025-03-14 09:00.
func Steady(n int) []time.Time {
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * 10 * time.Millisecond)
	}
	return ts
}

// Shuffled returns a copy of ts in a random order drawn from seed.
func Shuffled(ts []time.Time, seed uint64) []time.Time {
	out := append([]time.Time(nil), ts...)
	rand.New(rand.NewPCG(seed, 1)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Jiggled moves every time by up to maxShift back or forth, keeping the order otherwise: a log
// of several writers, slightly out of order.
func Jiggled(ts []time.Time, maxShift time.Duration, seed uint64) []time.Time {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.Add(time.Duration(r.Int64N(int64(2*maxShift))) - maxShift)
	}
	return out
}
