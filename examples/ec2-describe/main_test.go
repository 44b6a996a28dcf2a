package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The example runs end to end against the in-process emulator, and what it claims holds:
// AWS throttles the SDK's default retryer, and throttles tollgate far less (at most a tenth as
// often) with no more failed calls.
func TestTollgateIsThrottledLessThanTheSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 2 × 2 s of real time")
	}
	results, err := runBoth(context.Background(), 20, 2*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printResults(&out, 20, 2*time.Second, results)
	t.Log("\n" + out.String())
	if len(results) != 2 || results[0].name != "SDK default" || results[1].name != "tollgate" {
		t.Fatalf("results: %+v", results)
	}
	sdk, tg := results[0], results[1]
	if sdk.throttled == 0 || sdk.attempts == 0 {
		t.Fatalf("the SDK's run was never throttled (%d attempts): the example shows nothing", sdk.attempts)
	}
	if tg.calls == 0 {
		t.Fatal("tollgate made no call")
	}
	if tg.throttled*10 > sdk.throttled {
		t.Errorf("tollgate throttled %d times, the SDK %d: want at most a tenth", tg.throttled, sdk.throttled)
	}
	if tg.failed > sdk.failed {
		t.Errorf("tollgate failed %d calls, the SDK %d", tg.failed, sdk.failed)
	}
	for _, want := range []string{"SDK default", "tollgate", "throttled %", "refused by tollgate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
