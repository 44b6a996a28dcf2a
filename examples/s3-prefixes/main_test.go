package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The example runs end to end against the in-process emulator: the hot prefix draws SlowDowns
// without tollgate and (almost) none with it, while tollgate still uses the partition.
//
// The partition's rate is far below what any machine drives, so that the comparison holds
// whatever the CPU: 12 writers of 1 KiB objects that each take 5 ms of latency offer hundreds
// of writes per second even on a loaded 2-core machine under the race detector, against a
// partition that takes 5 per second (and a burst of 5). At 100 writes per second a loaded
// machine could not exceed the partition and the SDK saw no SlowDown at all.
func TestRunShowsHotPrefixPaced(t *testing.T) {
	const (
		rate     = 5
		duration = 2 * time.Second
	)
	var out bytes.Buffer
	if err := run(context.Background(), &out, 12, 4, rate, duration); err != nil {
		t.Fatal(err)
	}
	type row struct{ ok, failed, slowDowns int }
	sdk, tg := row{-1, -1, -1}, row{-1, -1, -1}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 6 && f[0] == "SDK" && f[2] == "hot":
			sdk = row{atoi(t, f[3]), atoi(t, f[4]), atoi(t, f[5])}
		case len(f) == 5 && f[0] == "tollgate" && f[1] == "hot":
			tg = row{atoi(t, f[2]), atoi(t, f[3]), atoi(t, f[4])}
		}
	}
	// What the partition can take in the run: its burst and its rate for the duration.
	capacity := rate + int(rate*duration.Seconds())
	offered := sdk.ok + sdk.slowDowns // the SDK's attempts on the hot prefix, at least
	switch {
	case sdk.ok < 0 || tg.ok < 0:
		t.Fatalf("no hot rows in the output:\n%s", out.String())
	case offered <= 2*capacity:
		t.Fatalf("the SDK's writers offered %d writes to a partition that takes %d: the run did not overload it\n%s", offered, capacity, out.String())
	case sdk.slowDowns == 0:
		t.Errorf("the SDK offered %d writes to a partition that takes %d and drew no SlowDown\n%s", offered, capacity, out.String())
	case tg.slowDowns*10 > sdk.slowDowns:
		t.Errorf("hot prefix SlowDowns: SDK %d, tollgate %d; want tollgate's a small fraction\n%s", sdk.slowDowns, tg.slowDowns, out.String())
	case tg.ok < capacity/2:
		t.Errorf("tollgate wrote %d objects to a partition that takes %d: it should use it, not starve it\n%s", tg.ok, capacity, out.String())
	}
	t.Logf("SDK offered %d writes to a partition that takes %d: %d SlowDowns; tollgate %d written, %d SlowDowns\n%s",
		offered, capacity, sdk.slowDowns, tg.ok, tg.slowDowns, out.String())
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
