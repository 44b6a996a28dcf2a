// Command runstat runs a command and reports its wall time and peak memory, for CI's
// cold-start check of the main job:
//
//	go build -o /tmp/runstat ./internal/cmd/runstat
//	/tmp/runstat -cold -max-rss 1GiB -label "go run ./cmd/tollgate simulate" -- go run ./cmd/tollgate simulate
//
// It prints one line to standard error:
//
//	runstat: go run ./cmd/tollgate simulate: exit 0, wall 41.2s, cpu 70.3s, peak RSS 612 MiB (largest process 540 MiB, process tree 612 MiB), cold GOCACHE
//
// "cpu" is the user and system time of the command and its descendants: unlike wall time it
// hardly depends on what else the machine is doing, so it tells a slow build from a busy
// machine (on 2 idle cores, wall time is at least half of it).
// "largest process" is the kernel's ru_maxrss from wait4: the peak resident set of the
// command or of its largest descendant (for `go run`, usually one compile). "process tree" is
// the largest sum of the resident sets of the command and all its descendants, sampled from
// /proc every 20 ms (Linux only; brief peaks between samples can be missed). Peak RSS is the
// larger of the two. Neither needs /usr/bin/time, which a fresh machine may lack.
//
// With -cold the command runs with GOCACHE set to a new empty directory, removed afterwards
// (modules already downloaded stay in GOMODCACHE). With -max-rss, runstat exits 1 when the
// peak RSS exceeds the bound; wall time is only reported, because timing on a shared CI machine
// is too noisy to assert. Otherwise runstat exits with the command's status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runstat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cold := fs.Bool("cold", false, "run with GOCACHE set to a new empty directory")
	maxRSS := byteSize(0)
	fs.Var(&maxRSS, "max-rss", "fail (exit 1) when the peak RSS exceeds this, e.g. 1GiB (0: no bound)")
	label := fs.String("label", "", "what to call the command in the report (default: the command line)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "runstat: want a command to run after the flags (and --)")
		return 2
	}
	if *label == "" {
		*label = strings.Join(fs.Args(), " ")
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Env = os.Environ()
	if *cold {
		dir, err := os.MkdirTemp("", "runstat-gocache-")
		if err != nil {
			fmt.Fprintln(stderr, "runstat:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cmd.Env = append(cmd.Env, "GOCACHE="+dir)
	}
	// Ctrl-C reaches the child through the terminal; runstat itself waits for it to end.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "runstat:", err)
		return 1
	}
	stopSampling := sampleTree(cmd.Process.Pid, 20*time.Millisecond)
	waitErr := cmd.Wait()
	wall := time.Since(start)
	tree := stopSampling()

	code := 0
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exit):
		code = exit.ExitCode()
		if code < 0 {
			code = 1
		}
	default:
		fmt.Fprintln(stderr, "runstat:", waitErr)
		return 1
	}
	largest := maxRSSOf(cmd.ProcessState)
	peak := max(largest, tree)
	cache := ""
	if *cold {
		cache = ", cold GOCACHE"
	}
	treeText := "n/a"
	if tree > 0 {
		treeText = mib(tree)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	fmt.Fprintf(stderr, "runstat: %s: exit %d, wall %.1fs, cpu %.1fs, peak RSS %s (largest process %s, process tree %s)%s\n",
		*label, code, wall.Seconds(), cpu.Seconds(), mib(peak), mib(largest), treeText, cache)
	if maxRSS > 0 && peak > uint64(maxRSS) {
		fmt.Fprintf(stderr, "runstat: %s: peak RSS %s exceeds the bound %s\n", *label, mib(peak), mib(uint64(maxRSS)))
		return 1
	}
	return code
}

func mib(b uint64) string { return fmt.Sprintf("%d MiB", (b+1<<19)>>20) }
