package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/clitest"
)

// cliCase is one command line with the exit status and the messages it must give.
type cliCase struct {
	name   string
	args   []string
	code   int
	stderr []string // each in standard error
	stdout []string // each in standard output
	secret string   // in neither (content of a file named by mistake, a signature)
	// maxRSS, if set, runs the built program and bounds its peak resident memory (ru_maxrss,
	// through runstat) without -race; the tests run otherwise in-process.
	maxRSS uint64
}

// rssBound is a peak-RSS bound for this build: the race detector's shadow memory and
// bookkeeping multiply a program's memory by about 5 to 10.
func rssBound(b uint64) uint64 {
	if clitest.RaceEnabled {
		return 8*b + 64<<20
	}
	return b
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// runCases runs each case and checks its exit status and messages: one "tollgate COMMAND:"
// prefix per message (never "tollgate simulate: simulate: ..."), and no secret quoted.
func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var code int
			var out, errOut string
			if c.maxRSS > 0 {
				r := clitest.RunMeasured(t, runstat.Path(t), tollgate.Path(t), c.args...)
				code, out, errOut = r.Code, r.Stdout, r.Stderr
				if bound := rssBound(c.maxRSS); r.MaxRSS > bound {
					t.Errorf("peak RSS %s, more than %s", mib(r.MaxRSS), mib(bound))
				}
				t.Logf("peak RSS %s (bound %s), %v", mib(r.MaxRSS), mib(rssBound(c.maxRSS)), r.Wall.Round(1e6))
			} else {
				code, out, errOut = run(t, c.args...)
			}
			if code != c.code {
				t.Errorf("tollgate %s: exit %d, want %d\nstderr: %s\nstdout: %.500s", strings.Join(c.args, " "), code, c.code, errOut, out)
			}
			for _, want := range c.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			for _, want := range c.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%.2000s", want, out)
				}
			}
			if c.secret != "" && (strings.Contains(errOut, c.secret) || strings.Contains(out, c.secret)) {
				t.Errorf("the output quotes %q:\n%s\n%.500s", c.secret, errOut, out)
			}
			for _, line := range strings.Split(errOut, "\n") {
				if prog, rest, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(prog, "tollgate ") {
					if cmd := strings.TrimPrefix(prog, "tollgate "); strings.HasPrefix(rest, cmd+": ") {
						t.Errorf("doubled prefix: %q", line)
					}
				}
			}
		})
	}
}

// interruptBound is how soon after SIGINT or SIGTERM a command must have exited: a second, as
// issue 15 asks. Under the race detector on a loaded machine, process exit and scheduling
// take longer; the bound is then 2 s, still far below what an unstoppable loop takes.
var interruptBound = func() time.Duration {
	if clitest.RaceEnabled {
		return 2 * time.Second
	}
	return time.Second
}()
