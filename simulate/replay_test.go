package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

// Replay streams a trace through each strategy against buckets fitted from it: every record
// becomes one call, tollgate's client-side limiter handed the fitted rules (tollgate-oracle)
// avoids the throttles the SDK's standard mode runs into, and the result is reproducible.
func TestReplay(t *testing.T) {
	data := bucketTrace(t, 10, 50, 3, 3, 5)
	records := bytes.Count(data, []byte("\n"))
	strategies, err := simulate.ParseStrategies("tollgate-oracle,sdk-standard,no-retry,tollgate", simulate.StrategyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := simulate.ReplayOptions{Name: "gen.jsonl",
		Open: func() (trace.Source, error) { return trace.NewReader(bytes.NewReader(data), "gen.jsonl"), nil }}
	c, err := simulate.Replay(context.Background(), strategies, opts)
	if err != nil {
		t.Fatal(err)
	}
	tg, std, none := c.Strategies[0], c.Strategies[1], c.Strategies[2]
	for i, st := range c.Strategies {
		if st.Requests != uint64(records) {
			t.Errorf("%s: %d requests, want one per record (%d)", st.Strategy, st.Requests, records)
		}
		if st.Oracle != (i == 0) {
			t.Errorf("%s: oracle %v", st.Strategy, st.Oracle)
		}
		if len(st.Operations) != 1 || st.Operations[0].Requests != st.Requests {
			t.Errorf("%s: operations %+v, want one row with every request", st.Strategy, st.Operations)
		}
	}
	if c.CapacityPerS < 9 || c.CapacityPerS > 11 {
		t.Errorf("capacity %g/s, want the fitted rate (about 10/s)", c.CapacityPerS)
	}
	if tg.Throttled*10 > std.Throttled {
		t.Errorf("tollgate-oracle throttled %d, sdk-standard %d", tg.Throttled, std.Throttled)
	}
	if none.Attempts != none.Requests {
		t.Errorf("no-retry made %d attempts for %d requests", none.Attempts, none.Requests)
	}
	again, err := simulate.Replay(context.Background(), strategies, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(again)
	if !bytes.Equal(a, b) {
		t.Error("replaying twice gave different reports")
	}
}

// Replay prepares records off the engine's goroutine; what the engine gets is still every
// record in order: records the reader skips are counted and replayed as nothing, groups are
// the services and client processes the clients in order of first appearance (a record
// without client is the process "trace"), a record a little older than the one before is put
// back in its place (trace.InOrder), and batches end anywhere.
func TestReplayRecordsInOrder(t *testing.T) {
	var buf bytes.Buffer
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	services := []string{"KMS", "S3", "EC2", "DynamoDB"}
	clients := []string{"c1", "", "c2", "c3"}
	valid, skipped, late := 0, 0, 0
	now := start
	for i := 0; i < 5000; i++ {
		switch {
		case i%997 == 3:
			buf.WriteString("{\"time\":\"yesterday\"}\n")
			skipped++
			continue
		case i%1499 == 7:
			buf.WriteString("not json\n")
			skipped++
			continue
		}
		at := now.Add(time.Duration(i%3) * time.Millisecond)
		if i%211 == 5 {
			at = now.Add(-time.Second) // out of order
			late++
		} else {
			now = at
		}
		svc := services[(i/50)%len(services)]
		rec := trace.Record{Time: at, Service: svc, Operation: "Op", Region: "us-east-1", Outcome: trace.OutcomeSuccess,
			Client: clients[(i/7)%len(clients)]}
		switch svc {
		case "S3":
			rec.Operation, rec.Resource, rec.Key = "GetObject", "b", "p"+string(rune('a'+i%5))+"/k"
		case "EC2":
			rec.Operation = "DescribeInstances"
		case "KMS":
			rec.Operation = "Decrypt"
		case "DynamoDB":
			rec.Operation, rec.Resource = "PutItem", "t"
		}
		b, err := json.Marshal(map[string]any{"time": rec.Time.Format(time.RFC3339Nano), "service": rec.Service, "operation": rec.Operation,
			"region": rec.Region, "resource": rec.Resource, "key": rec.Key, "outcome": "success", "client": rec.Client})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
		valid++
	}
	data := buf.Bytes()
	strategies, err := simulate.ParseStrategies("no-retry,sdk-standard", simulate.StrategyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	procs := map[string]bool{}
	obs := event.ObserverFunc(func(e event.Event) {
		mu.Lock()
		procs[e.Client] = true
		mu.Unlock()
	})
	opts := simulate.ReplayOptions{Name: "t.jsonl", Rules: limiter.DefaultRules(), Options: simulate.Options{Observer: obs},
		Open: func() (trace.Source, error) { return trace.NewReader(bytes.NewReader(data), "t.jsonl"), nil }}
	c, err := simulate.Replay(context.Background(), strategies, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Skipped != uint64(skipped) {
		t.Errorf("skipped %d, want %d", c.Skipped, skipped)
	}
	for _, st := range c.Strategies {
		if st.Requests != uint64(valid) {
			t.Errorf("%s: %d requests, want %d", st.Strategy, st.Requests, valid)
		}
		var names []string
		for _, g := range st.Groups {
			names = append(names, g.Group)
		}
		if fmt.Sprint(names) != fmt.Sprint(services) {
			t.Errorf("%s: groups %v, want the services in order of appearance %v", st.Strategy, names, services)
		}
	}
	if len(procs) != 4 || !procs["trace"] || !procs["c1"] || !procs["c2"] || !procs["c3"] {
		t.Errorf("client processes %v, want c1, trace (no client), c2, c3", procs)
	}
	opts.Options = simulate.Options{Parallelism: 1}
	again, err := simulate.Replay(context.Background(), strategies, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(again)
	if !bytes.Equal(a, b) {
		t.Error("replaying again gave a different report")
	}
	if late == 0 {
		t.Fatal("no out-of-order record in the test trace")
	}
}
