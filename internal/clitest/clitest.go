// Package clitest runs tollgate's programs as a user does, for their tests: it builds a
// program once per test binary (with the test's own -race setting, so that the build reuses
// the packages the test already compiled), runs it as a child process, interrupts it, and
// measures it: exit status, wall time from a signal to the exit, and the child's peak
// resident memory (ru_maxrss from wait4).
package clitest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Binary is a program built for a test binary.
type Binary struct {
	pkg  string
	once sync.Once
	dir  string
	path string
	err  error
}

// NewBinary returns the program of package directory pkg (as `go build` takes it, e.g. "."),
// built on the first call of Path. Call Remove when the tests are done (from TestMain).
func NewBinary(pkg string) *Binary { return &Binary{pkg: pkg} }

// Path builds the program the first time it is called and returns its path; a failed build
// fails the test.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "tollgate-clitest-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, filepath.Base(b.pkgPath()))
		args := []string{"build", "-o", b.path}
		if RaceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.err = fmt.Errorf("go %v: %v\n%s", args, err, out.String())
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func (b *Binary) pkgPath() string {
	abs, err := filepath.Abs(b.pkg)
	if err != nil {
		return "prog"
	}
	return abs
}

// Remove deletes the built program.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// Result is how a finished run went.
type Result struct {
	Code           int
	Stdout, Stderr string
	// MaxRSS is the program's peak resident set in bytes, when measured (RunMeasured).
	MaxRSS uint64
	Wall   time.Duration
}

// Run runs the program with args to its end.
func Run(t testing.TB, bin string, args ...string) Result {
	t.Helper()
	p := Start(t, bin, args...)
	return p.Wait(t)
}

// runstatLine is the line internal/cmd/runstat adds to standard error.
var runstatLine = regexp.MustCompile(`(?m)^runstat: measured: exit -?\d+, .*largest process (\d+) MiB.*\n`)

// RunMeasured runs the program with args to its end through runstat (internal/cmd/runstat,
// built: its path) and returns how it went with its peak resident memory: the kernel's
// ru_maxrss of the program, in MiB. The measurement needs a small parent: Linux counts in a
// child's ru_maxrss the resident set its parent had when it started the child (exec from a
// vfork'ed process records the parent's high-water mark), so a child of a test binary of
// hundreds of megabytes would report them. Through runstat the figure includes at most
// runstat's own few megabytes.
func RunMeasured(t testing.TB, runstat, bin string, args ...string) Result {
	t.Helper()
	r := Run(t, runstat, append([]string{"-label", "measured", "--", bin}, args...)...)
	m := runstatLine.FindStringSubmatch(r.Stderr)
	if m == nil {
		t.Fatalf("runstat did not report the peak RSS; stderr:\n%s", r.Stderr)
	}
	mib, _ := strconv.ParseUint(m[1], 10, 64)
	r.MaxRSS = mib << 20
	r.Stderr = runstatLine.ReplaceAllString(r.Stderr, "")
	return r
}

// Proc is a running program.
type Proc struct {
	Cmd            *exec.Cmd
	stdout, stderr syncBuffer
	start          time.Time
	exited         chan struct{}
	waitErr        error
}

// Start starts the program with args; its standard input is empty (closed).
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = &p.stdout, &p.stderr
	return p.start0(t)
}

// StartCmd starts cmd (set up by the caller: its standard input, environment), capturing its
// output.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, exited: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = &p.stdout, &p.stderr
	return p.start0(t)
}

func (p *Proc) start0(t testing.TB) *Proc {
	t.Helper()
	p.start = time.Now()
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.Cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.Cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// Stdout and Stderr return what the program wrote so far.
func (p *Proc) Stdout() string { return p.stdout.String() }
func (p *Proc) Stderr() string { return p.stderr.String() }

// Exited is closed when the program has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Wait waits for the program to exit (at most two minutes) and returns how it went.
func (p *Proc) Wait(t testing.TB) Result {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		p.Cmd.Process.Kill()
		<-p.exited
		t.Fatalf("%v still running after two minutes; killed. stderr:\n%s", p.Cmd.Args, p.Stderr())
	}
	return Result{Code: p.Cmd.ProcessState.ExitCode(), Stdout: p.Stdout(), Stderr: p.Stderr(), Wall: time.Since(p.start)}
}

// WaitFor polls, every 10 ms, until ready reports true (it is given the output so far) or the
// program exits or a minute passes; it fails the test unless ready came true while the
// program runs.
func (p *Proc) WaitFor(t testing.TB, what string, ready func(stdout, stderr string) bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for !ready(p.Stdout(), p.Stderr()) {
		select {
		case <-p.exited:
			t.Fatalf("%v exited (%v) before %s; stdout:\n%.2000s\nstderr:\n%.2000s", p.Cmd.Args, p.waitErr, what, p.Stdout(), p.Stderr())
		case <-deadline:
			t.Fatalf("%v: not %s after a minute; stderr:\n%s", p.Cmd.Args, what, p.Stderr())
		case <-tick.C:
		}
	}
}

// WaitBusy waits until the program has used at least cpu of processor time (user + system),
// which shows it is in the middle of its work, not starting up. It fails the test if the
// program exits first.
func (p *Proc) WaitBusy(t testing.TB, cpu time.Duration) {
	t.Helper()
	p.WaitFor(t, fmt.Sprintf("busy for %v of CPU", cpu), func(string, string) bool {
		used, ok := cpuTime(p.Cmd.Process.Pid)
		if !ok {
			t.Skip("the processor time of a process is not known on this system")
		}
		return used >= cpu
	})
}

// PeakRSS returns the running program's peak resident set so far (VmHWM, the high-water
// mark of its own address space, which its parent's size does not taint). It fails the test
// where the system does not say.
func (p *Proc) PeakRSS(t testing.TB) uint64 {
	t.Helper()
	b, ok := peakRSS(p.Cmd.Process.Pid)
	if !ok {
		t.Fatalf("the peak RSS of %v is unknown (exited, or not Linux)", p.Cmd.Args)
	}
	return b
}

// Interrupt sends sig and waits for the program to exit; it returns how it went and the wall
// time from the signal to the exit.
func (p *Proc) Interrupt(t testing.TB, sig os.Signal) (Result, time.Duration) {
	t.Helper()
	sent := time.Now()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
	}
	took := time.Since(sent)
	return p.Wait(t), took
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
