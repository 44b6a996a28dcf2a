package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every upload through tollgate's RoundTripper lands and reads back identical; the plain
// transport loses some to SlowDown.
func TestRunUploadsEverythingThroughTollgate(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, 80, 40); err != nil {
		t.Fatal(err)
	}
	var plainFailed, tgOK, tgVerified = -1, -1, -1
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 5 && f[0] == "http.DefaultTransport":
			plainFailed = atoi(f[2])
		case len(f) == 6 && f[0] == "tollgate":
			tgOK, tgVerified = atoi(f[2]), atoi(f[5])
		}
	}
	if plainFailed <= 0 || tgOK != 80 || tgVerified != 80 {
		t.Errorf("plain failed %d; tollgate ok %d, verified %d (want 80, 80)\n%s", plainFailed, tgOK, tgVerified, out.String())
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
