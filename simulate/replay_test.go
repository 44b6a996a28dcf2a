package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

// Replay streams a trace through each strategy against buckets fitted from it: every record
// becomes one call, tollgate's client-side limiter (with the fitted rules) avoids the
// throttles the SDK's standard mode runs into, and the result is reproducible.
func TestReplay(t *testing.T) {
	data := bucketTrace(t, 10, 50, 3, 3, 5)
	records := bytes.Count(data, []byte("\n"))
	strategies, err := simulate.ParseStrategies("tollgate,sdk-standard,no-retry", simulate.StrategyOptions{})
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
	for _, st := range c.Strategies {
		if st.Requests != uint64(records) {
			t.Errorf("%s: %d requests, want one per record (%d)", st.Strategy, st.Requests, records)
		}
	}
	if c.CapacityPerS < 9 || c.CapacityPerS > 11 {
		t.Errorf("capacity %g/s, want the fitted rate (about 10/s)", c.CapacityPerS)
	}
	if tg.Throttled*10 > std.Throttled {
		t.Errorf("tollgate throttled %d, sdk-standard %d", tg.Throttled, std.Throttled)
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
