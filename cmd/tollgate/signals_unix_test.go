//go:build unix

package main

import (
	"compress/gzip"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/clitest"
	"github.com/tollgate/tollgate/simulate/trace"
)

// writeBigTrace writes a gzipped trace of n calls of eight clients, one in five throttled.
func writeBigTrace(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	w := trace.NewWriter(zw)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		rec := trace.Record{Time: at.Add(time.Duration(i) * time.Millisecond), Service: "EC2", Operation: "DescribeInstances",
			Region: "us-east-1", Outcome: trace.OutcomeSuccess, Client: fmt.Sprint("c", i%8)}
		if i%5 == 0 {
			rec.Outcome, rec.ErrorCode = trace.OutcomeThrottled, "RequestLimitExceeded"
		}
		if err := w.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// feedFIFO makes a named pipe at path and writes trace records into it, a millisecond apart,
// one in five throttled, until the reader closes its end: an input that never ends.
func feedFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until the program opens it
		if err != nil {
			return
		}
		defer f.Close()
		w := trace.NewWriter(f)
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; ; i++ {
			rec := trace.Record{Time: at.Add(time.Duration(i) * time.Millisecond), Service: "EC2", Operation: "DescribeInstances",
				Region: "us-east-1", Outcome: trace.OutcomeSuccess}
			if i%5 == 0 {
				rec.Outcome, rec.ErrorCode = trace.OutcomeThrottled, "RequestLimitExceeded"
			}
			if w.Write(&rec) != nil {
				return // the program closed its end
			}
		}
	}()
	t.Cleanup(func() {
		// Unblock the writer's open if the program never opened the pipe.
		if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			r.Close()
		}
		<-done
	})
}

// SIGINT and SIGTERM stop every command within a second (issue 15: brooker with 10^8 clients
// and load at 10^9 calls/s ignored them, one ran 11 minutes to 10 GB), sent to the built
// program in the middle of its work: it exits with status 130, says it was interrupted, and
// leaves no output file, whole or partial, nor a temporary one. "In the middle" is shown
// without timing guesses: the program has used 300 ms of CPU (its input is large enough to
// take seconds) or is serving.
func TestSignalsStopEveryCommand(t *testing.T) {
	bin := tollgate.Path(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.jsonl.gz")
	writeBigTrace(t, big, 200_000)

	type command struct {
		name string
		// args given the empty directory its outputs go to; setup prepares inputs there.
		args  func(out string) []string
		setup func(t *testing.T, work string) // optional
		// ready waits until the program is in the middle of its work.
		ready func(t *testing.T, p *clitest.Proc, out string)
		// stdin, if set, is the program's standard input.
		stdin func(t *testing.T) *os.File
		// forced: the command is blocked where it cannot look at its context (reading a pipe
		// nobody writes to) and is stopped by the program's interrupt grace.
		forced bool
	}
	busy := func(t *testing.T, p *clitest.Proc, _ string) { p.WaitBusy(t, 300*time.Millisecond) }
	commands := []command{
		{name: "simulate", args: func(out string) []string {
			return []string{"simulate", "--runs", "100", "--out", filepath.Join(out, "report")}
		}, ready: busy},
		{name: "replay", args: func(out string) []string {
			return []string{"replay", big, "--out", filepath.Join(out, "report")}
		}, ready: busy},
		{name: "import", args: func(out string) []string {
			return []string{"import", filepath.Join(out, "..", "input.fifo"), "--input-format", "jsonl", "--output", filepath.Join(out, "trace.jsonl")}
		}, setup: func(t *testing.T, work string) { feedFIFO(t, filepath.Join(work, "input.fifo")) }, ready: busy},
		{name: "import from an idle pipe", args: func(out string) []string {
			return []string{"import", "-", "--input-format", "jsonl", "--out", filepath.Join(out, "imported")}
		}, stdin: func(t *testing.T) *os.File {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			return r // nobody writes to w
		}, ready: func(t *testing.T, p *clitest.Proc, out string) {
			// Blocked reading: it has made its staging directory, the last step before reading.
			p.WaitFor(t, "staging its output", func(string, string) bool {
				names, _ := filepath.Glob(filepath.Join(out, "imported", ".tollgate-*"))
				return len(names) > 0
			})
		}, forced: true},
		{name: "fit", args: func(out string) []string {
			return []string{"fit", filepath.Join(out, "..", "input.fifo"), "--input-format", "jsonl", "--output", filepath.Join(out, "rules.yaml")}
		}, setup: func(t *testing.T, work string) { feedFIFO(t, filepath.Join(work, "input.fifo")) }, ready: busy},
		{name: "brooker", args: func(out string) []string {
			return []string{"brooker", "--clients", "20000", "--runs", "100", "--out", filepath.Join(out, "brooker")}
		}, ready: busy},
		{name: "emulate", args: func(string) []string { return []string{"emulate", "--listen", "127.0.0.1:0"} },
			ready: func(t *testing.T, p *clitest.Proc, _ string) {
				p.WaitFor(t, "serving", func(out, _ string) bool { return strings.Contains(out, "\n") })
				// A connection in the middle of a request body does not hold the exit up.
				url, _, _ := strings.Cut(p.Stdout(), "\n")
				c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				fmt.Fprintf(c, "PUT /data/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
			}},
	}
	var took []string
	for _, c := range commands {
		for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
			t.Run(fmt.Sprintf("%s/%v", c.name, sig), func(t *testing.T) {
				work := t.TempDir()
				out := filepath.Join(work, "out")
				if err := os.Mkdir(out, 0o755); err != nil {
					t.Fatal(err)
				}
				if c.setup != nil {
					c.setup(t, work)
				}
				cmd := exec.Command(bin, c.args(out)...)
				if c.stdin != nil {
					cmd.Stdin = c.stdin(t)
				}
				p := clitest.StartCmd(t, cmd)
				c.ready(t, p, out)
				r, d := p.Interrupt(t, sig)
				took = append(took, fmt.Sprintf("%s/%v %v", c.name, sig, d.Round(time.Millisecond)))
				if r.Code != 130 || !strings.Contains(r.Stderr, "tollgate "+strings.Fields(c.name)[0]+": interrupted") {
					t.Errorf("exit %d, want 130 (interrupted); stderr:\n%s", r.Code, r.Stderr)
				}
				// A command blocked where it cannot look is stopped by the program's interrupt
				// grace; the others stop by themselves (in milliseconds, unless the machine is
				// so loaded that the grace comes first: logged, not a failure).
				switch forced := strings.Contains(r.Stderr, "stopped at once"); {
				case c.forced && !forced:
					t.Errorf("not stopped by the interrupt grace; stderr:\n%s", r.Stderr)
				case forced && !c.forced:
					t.Logf("stopped by the interrupt grace, not by itself: the machine is loaded, or the command no longer looks at its context")
				}
				if d > clitest.InterruptBound() {
					t.Errorf("exited %v after %v, more than %v", d, sig, clitest.InterruptBound())
				}
				if names := dirNames(t, out); len(names) != 0 {
					t.Errorf("left in the output directory: %v", names)
				}
				t.Logf("exited %v after %v", d.Round(time.Millisecond), sig)
			})
		}
	}
	t.Logf("signal to exit: %s", strings.Join(took, ", "))
}
