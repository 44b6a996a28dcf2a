package clitest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Case is one command line with the exit status and the messages it must give.
type Case struct {
	Name   string
	Args   []string
	Code   int
	Stderr []string // each in standard error
	Stdout []string // each in standard output
	Secret string   // in neither (content of a file named by mistake, a signature)
	// MaxRSS, if set, runs the built program and bounds its peak resident memory (RunMeasured)
	// by RSSBound(MaxRSS); cases run otherwise in-process.
	MaxRSS uint64
}

// Runner runs a program's cases.
type Runner struct {
	Program string // "tollgate"
	// Execute runs the program in-process and returns its exit status and output.
	Execute func(args []string) (code int, stdout, stderr string)
	// Binary and Runstat run it as a process, for cases with MaxRSS.
	Binary, Runstat *Binary
}

// RSSBound is a peak-RSS bound for this build: without -race, b; the race detector's shadow
// memory and bookkeeping double a program's memory and add tens of megabytes.
func RSSBound(b uint64) uint64 {
	if RaceEnabled {
		return 2*b + 64<<20
	}
	return b
}

// InterruptBound is how soon after SIGINT or SIGTERM a program must have exited: a second.
// Under the race detector on a loaded machine a program is slower to receive the signal (its
// signal goroutine waits for the scheduler behind the busy ones), to wind down and to exit
// (the detector's own finalization); the bound is then 2 s, still far below what an
// unstoppable loop takes.
func InterruptBound() time.Duration {
	if RaceEnabled {
		return 2 * time.Second
	}
	return time.Second
}

// MiB writes a size in mebibytes.
func MiB(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Run runs each case as a subtest and checks its exit status and messages: one
// "PROGRAM COMMAND:" prefix per message (never "tollgate simulate: simulate: ..."), no
// secret quoted, and the peak RSS where bounded.
func (r Runner) Run(t *testing.T, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var code int
			var out, errOut string
			if c.MaxRSS > 0 {
				res := RunMeasured(t, r.Runstat.Path(t), r.Binary.Path(t), c.Args...)
				code, out, errOut = res.Code, res.Stdout, res.Stderr
				if bound := RSSBound(c.MaxRSS); res.MaxRSS > bound {
					t.Errorf("peak RSS %s, more than %s", MiB(res.MaxRSS), MiB(bound))
				}
				t.Logf("peak RSS %s (bound %s), %v", MiB(res.MaxRSS), MiB(RSSBound(c.MaxRSS)), res.Wall.Round(time.Millisecond))
			} else {
				code, out, errOut = r.Execute(c.Args)
			}
			if code != c.Code {
				t.Errorf("%s %s: exit %d, want %d\nstderr: %s\nstdout: %.500s", r.Program, strings.Join(c.Args, " "), code, c.Code, errOut, out)
			}
			for _, want := range c.Stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			for _, want := range c.Stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%.2000s", want, out)
				}
			}
			if c.Secret != "" && (strings.Contains(errOut, c.Secret) || strings.Contains(out, c.Secret)) {
				t.Errorf("the output quotes %q:\n%s\n%.500s", c.Secret, errOut, out)
			}
			for _, line := range strings.Split(errOut, "\n") {
				if prog, rest, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(prog, r.Program+" ") {
					if cmd := strings.TrimPrefix(prog, r.Program+" "); strings.HasPrefix(rest, cmd+": ") {
						t.Errorf("doubled prefix: %q", line)
					}
				}
			}
		})
	}
}
