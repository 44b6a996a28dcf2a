package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The example runs end to end against the in-process emulator: the hot prefix draws SlowDowns
// without tollgate and (almost) none with it.
func TestRunShowsHotPrefixPaced(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, 12, 4, 100, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	var sdkSlowDowns, tgSlowDowns int = -1, -1
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 6 && f[0] == "SDK" && f[2] == "hot":
			sdkSlowDowns = atoi(t, f[5])
		case len(f) == 5 && f[0] == "tollgate" && f[1] == "hot":
			tgSlowDowns = atoi(t, f[4])
		}
	}
	if sdkSlowDowns <= 0 || tgSlowDowns < 0 || tgSlowDowns*10 > sdkSlowDowns {
		t.Errorf("hot prefix SlowDowns: SDK %d, tollgate %d; want tollgate's a small fraction\n%s", sdkSlowDowns, tgSlowDowns, out.String())
	}
	t.Log("\n" + out.String())
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
