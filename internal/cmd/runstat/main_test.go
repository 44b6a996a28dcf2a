package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestRunstatReportsAndPassesTheExitStatus(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("sh not on PATH")
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"-label", "demo", "--", sh, "-c", "echo hi; exit 3"}, &stdout, &stderr)
	if code != 3 || stdout.String() != "hi\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	re := regexp.MustCompile(`^runstat: demo: exit 3, wall \d+\.\ds, cpu \d+\.\ds, peak RSS \d+ MiB \(largest process \d+ MiB, process tree (\d+ MiB|n/a)\)\n$`)
	if !re.MatchString(stderr.String()) {
		t.Errorf("report %q", stderr.String())
	}
}

func TestRunstatRSSBound(t *testing.T) {
	// Allocating and touching 64 MiB in a child takes its RSS over a 16 MiB bound.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("sh not on PATH")
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"-max-rss", "16MiB", "--", sh, "-c", `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo ${#x}`}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "exceeds the bound 16 MiB") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-max-rss", "1GiB", "--", sh, "-c", "true"}, &stdout, &stderr); code != 0 {
		t.Errorf("under the bound: exit %d, %s", code, stderr.String())
	}
	if code := run([]string{"-max-rss", "lots", "--", sh}, &stdout, &stderr); code != 2 {
		t.Errorf("bad -max-rss: exit %d", code)
	}
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
}

func TestRunstatCold(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-cold", "--", "go", "env", "GOCACHE"}, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "runstat-gocache-") || !strings.Contains(stderr.String(), "cold GOCACHE") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
