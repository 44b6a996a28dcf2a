package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestCheckListenAddr(t *testing.T) {
	for _, c := range []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"127.0.0.1:0", false, true},
		{"127.0.0.2:4566", false, true},
		{"[::1]:4566", false, true},
		{"localhost:4566", false, true},
		{"0.0.0.0:4566", false, false},
		{":4566", false, false},
		{"192.0.2.10:4566", false, false},
		{"example.com:4566", false, false},
		{"0.0.0.0:4566", true, true},
		{"127.0.0.1", false, false}, // no port
	} {
		err := CheckListenAddr(c.addr, c.allowRemote)
		if (err == nil) != c.ok {
			t.Errorf("CheckListenAddr(%q, %v) = %v, want ok=%v", c.addr, c.allowRemote, err, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "emulator: ") {
			t.Errorf("error %q does not start with the package name", err)
		}
	}
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Listen("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Errorf("Listen(0.0.0.0:0) = %v, want a refusal", err)
	}
}

func TestLifecycle(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.URL() != "" {
		t.Errorf("URL before Listen = %q, want empty", e.URL())
	}
	if err := e.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	url := e.URL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("URL = %q", url)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics = %d", resp.StatusCode)
	}
	cancel() // cancelling Start's context stops serving
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(url + "/metrics"); err == nil {
		t.Error("still serving after cancel and Close")
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Latency: -1},
		{Account: "12345"},
		{Tables: map[string]TableSchema{"t": {HashKey: "id"}}},   // name too short
		{Tables: map[string]TableSchema{"orders": {}}},           // no hash key
		{Tables: map[string]TableSchema{"orders": {"id", "id"}}}, // range == hash
		{PartitionSplitDelay: -time.Second},
	} {
		if _, err := New(opts); err == nil || !strings.HasPrefix(err.Error(), "emulator: ") {
			t.Errorf("New(%+v) = %v, want an emulator: error", opts, err)
		}
	}
}

// TestLatency runs in a synctest bubble: the emulator sleeps on fake time, so the test measures
// exactly the latency it adds without waiting for it.
func TestLatency(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		var out []time.Duration
		synctest.Test(t, func(t *testing.T) {
			e, err := New(Options{Latency: 50 * time.Millisecond, LatencyJitter: 10 * time.Millisecond, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				start := time.Now()
				e.ServeHTTP(rec, req)
				d := time.Since(start)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if d < 50*time.Millisecond || d >= 60*time.Millisecond {
					t.Errorf("latency %v, want in [50ms, 60ms)", d)
				}
				out = append(out, d)
			}
		})
		return out
	}
	a, b, c := delays(1), delays(1), delays(2)
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same {
		t.Errorf("seed 1 twice gave %v and %v, want the same jitter", a, b)
	}
	if !differ {
		t.Errorf("seeds 1 and 2 both gave %v, want different jitter", a)
	}

	// A client that gives up ends the wait.
	synctest.Test(t, func(t *testing.T) {
		e, _ := New(Options{Latency: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		start := time.Now()
		e.ServeHTTP(httptest.NewRecorder(), req)
		if d := time.Since(start); d != 10*time.Millisecond {
			t.Errorf("cancelled request waited %v, want 10ms", d)
		}
	})
}
