package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The example runs end to end against the in-process emulator and prints both runs.
func TestRunPrintsBothRetryers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 2 × 2 s of real time")
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, 20, 2*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SDK default", "tollgate", "throttled %"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
