package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tollgate/tollgate/internal/outfile"
	"github.com/tollgate/tollgate/simulate"
)

func TestBoundedFlags(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var (
		n    int
		rate float64
		d    time.Duration
	)
	IntVar(fs, &n, "n", 3, Between(1, 64), "workers")
	FloatVar(fs, &rate, "rate", 0, AtLeast(0.0), "calls per second")
	DurationVar(fs, &d, "gap", time.Second, Above(time.Duration(0)), "gap")
	if n != 3 || d != time.Second {
		t.Fatalf("defaults not applied: %d %v", n, d)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--n", "0"}, "want 1 to 64"},
		{[]string{"--n", "65"}, "want 1 to 64"},
		{[]string{"--n", "x"}, "want an integer"},
		{[]string{"--rate", "NaN"}, "want a finite number"},
		{[]string{"--rate", "+Inf"}, "want a finite number"},
		{[]string{"--rate", "-0.5"}, "want >= 0"},
		{[]string{"--gap", "0s"}, "want > 0s"},
		{[]string{"--gap", "-1s"}, "want > 0s"},
		{[]string{"--gap", "soon"}, "want a duration"},
	} {
		if err := fs.Parse(c.args); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: %v, want %q", c.args, err, c.err)
		}
	}
	if err := fs.Parse([]string{"--n", "64", "--rate", "1e3", "--gap", "1ms"}); err != nil || n != 64 || rate != 1000 || d != time.Millisecond {
		t.Errorf("valid values: %v %d %g %v", err, n, rate, d)
	}
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	fs.PrintDefaults()
	for _, want := range []string{"workers; valid: 1 to 64 (default 3)", "calls per second; valid: >= 0", "gap; valid: > 0s (default 1s)"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, usage.String())
		}
	}
	if math.IsNaN(rate) {
		t.Error("NaN got through")
	}
}

// newTestRoot is a program whose one command returns err.
func newTestRoot(err error) *cobra.Command {
	root := NewRoot("prog", "test program", "")
	cmd := &cobra.Command{Use: "simulate", Args: NoArgs, RunE: func(*cobra.Command, []string) error { return err }}
	var n int
	IntVar(cmd.Flags(), &n, "n", 1, AtLeast(1), "n")
	root.AddCommand(cmd)
	return root
}

func TestExecuteExitStatusAndMessage(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		ctx    context.Context
		err    error
		args   []string
		code   int
		stderr string
	}{
		{context.Background(), nil, []string{"simulate"}, 0, ""},
		{context.Background(), errors.New("simulate: x.yaml:3: field \"rate\": want a number"), []string{"simulate"}, 1,
			"prog simulate: x.yaml:3: field \"rate\": want a number\n"},
		{context.Background(), errors.New("trace: open x: no such file"), []string{"simulate"}, 1, "prog simulate: trace: open x: no such file\n"},
		{context.Background(), Usagef("--x: bad"), []string{"simulate"}, 2, "prog simulate: --x: bad\nRun 'prog simulate --help' for usage.\n"},
		{context.Background(), fmt.Errorf("wrapped: %w", &outfile.InputError{Output: "a", Input: "a"}), []string{"simulate"}, 2, "refusing to write over input a"},
		{context.Background(), NothingUsablef("no usable record"), []string{"simulate"}, 3, "prog simulate: no usable record\n"},
		{context.Background(), errors.New(`Get "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDSECRET&X-Amz-Signature=abcdef": EOF`), []string{"simulate"}, 1,
			`prog simulate: Get "https://b.s3.amazonaws.com/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED": EOF`},
		{cancelled, fmt.Errorf("simulate: %w", context.Canceled), []string{"simulate"}, 130, "prog simulate: interrupted\n"},
		{context.Background(), nil, []string{"simulate", "extra"}, 2, `unexpected argument "extra"`},
		{context.Background(), nil, []string{"simulate", "--n", "0"}, 2, `invalid argument "0" for "--n" flag: want >= 1`},
		{context.Background(), nil, []string{"simulte"}, 2, `unknown command "simulte" for "prog"; did you mean "simulate"?`},
		{context.Background(), nil, []string{"--bogus"}, 2, "unknown flag: --bogus"},
		{context.Background(), nil, nil, 0, ""},
	} {
		var stdout, stderr bytes.Buffer
		code := Execute(c.ctx, newTestRoot(c.err), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.stderr) || (c.stderr == "" && stderr.Len() > 0) {
			t.Errorf("%v with %v: exit %d, stderr %q; want %d, %q", c.args, c.err, code, stderr.String(), c.code, c.stderr)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	var stdout bytes.Buffer
	if code := Execute(context.Background(), NewRoot("prog", "", ""), []string{"version"}, &stdout, &stdout); code != 0 ||
		!strings.HasPrefix(stdout.String(), "prog ") || !strings.Contains(stdout.String(), "revision: ") {
		t.Fatalf("exit %d: %s", code, stdout.String())
	}
	v := ReadVersion("prog")
	if v.Go == "" || v.Platform == "" || v.Revision == "" || v.Version == "" {
		t.Errorf("incomplete version: %+v", v)
	}
}

// An interrupt cancels the command's context; a command that stops exits with its own status
// (130 for an interruption), one that does not is ended after the grace, or at a second
// signal, with its temporary outputs removed.
func TestRunInterrupts(t *testing.T) {
	dir := t.TempDir()
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{}, 1)
	newRoot := func() *cobra.Command {
		root := NewRoot("prog", "", "")
		root.AddCommand(&cobra.Command{Use: "polite", RunE: func(cmd *cobra.Command, _ []string) error {
			started <- struct{}{}
			<-cmd.Context().Done()
			return fmt.Errorf("polite: %w", cmd.Context().Err())
		}}, &cobra.Command{Use: "stuck", RunE: func(*cobra.Command, []string) error {
			f, err := outfile.Create(filepath.Join(dir, "out.jsonl"))
			if err != nil {
				return err
			}
			f.WriteString("half")
			started <- struct{}{}
			<-stuck // blocked where it cannot look at its context
			return nil
		}})
		return root
	}
	for _, c := range []struct {
		cmd     string
		signals int
		grace   time.Duration
		stderr  string
	}{
		{"polite", 1, time.Hour, "prog polite: interrupted\n"},
		{"stuck", 1, time.Millisecond, "prog stuck: interrupted (stopped at once: it had not finished 1ms after the signal"},
		{"stuck", 2, time.Hour, "prog stuck: interrupted (stopped at once"},
	} {
		sigs := make(chan os.Signal, 2)
		var stderr bytes.Buffer
		code := make(chan int, 1)
		go func() { code <- run(newRoot(), []string{c.cmd}, io.Discard, &stderr, sigs, c.grace) }()
		<-started
		for range c.signals {
			sigs <- os.Interrupt
		}
		if got := <-code; got != ExitInterrupted || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("%s with %d signals: exit %d, stderr %q; want 130, %q", c.cmd, c.signals, got, stderr.String(), c.stderr)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("%s: left behind %v", c.cmd, es)
		}
	}
}

func TestCountAndBytesFlags(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var work, mem int64
	CountVar(fs, &work, "max-work", 0, AtLeast(int64(-1)), "work")
	BytesVar(fs, &mem, "max-memory", 0, AtLeast(int64(-1)), "memory")
	for _, c := range []struct {
		args      []string
		work, mem int64
		err       string
	}{
		{[]string{"--max-work", "5e9"}, 5e9, 0, ""},
		{[]string{"--max-work", "2500000000"}, 2.5e9, 0, ""},
		{[]string{"--max-work", "-1"}, -1, 0, ""},
		{[]string{"--max-work", "-2"}, 0, 0, "want >= -1"},
		{[]string{"--max-work", "1.5"}, 0, 0, "want a whole number"},
		{[]string{"--max-work", "1e30"}, 0, 0, "want a whole number"},
		{[]string{"--max-memory", "512MiB"}, 0, 512 << 20, ""},
		{[]string{"--max-memory", "2GiB"}, 0, 2 << 30, ""},
		{[]string{"--max-memory", "1.5GB"}, 0, 1.5e9, ""},
		{[]string{"--max-memory", "4096"}, 0, 4096, ""},
		{[]string{"--max-memory", "-1"}, 0, -1, ""},
		{[]string{"--max-memory", "lots"}, 0, 0, "want a size such as 512MiB"},
		{[]string{"--max-memory", "NaNGiB"}, 0, 0, "want a size"},
		{[]string{"--max-memory", "-5MiB"}, 0, 0, "want >= -1"},
	} {
		work, mem = 0, 0
		err := fs.Parse(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || work != c.work || mem != c.mem {
			t.Errorf("%v: %v, work %d, memory %d", c.args, err, work, mem)
		}
	}
	if formatCount(1e9) != "1e+09" || formatCount(1234567) != "1234567" || formatBytes(1<<30) != "1GiB" || formatBytes(1536<<10) != "1536KiB" {
		t.Errorf("formats: %s %s %s %s", formatCount(1e9), formatCount(1234567), formatBytes(1<<30), formatBytes(1536<<10))
	}
}

// A simulation refused by its limits exits 4 with a message naming the flag that raises it.
func TestLimitErrorExit(t *testing.T) {
	for _, c := range []struct {
		err  *simulate.LimitError
		want string
	}{
		{&simulate.LimitError{What: `scenario "s"`, Resource: "work", Need: 1e14, Limit: 1e9, Detail: "1e13 calls"},
			`prog simulate: scenario "s" would need about 1e+14 of calls + attempts (1e13 calls), more than the limit of 1e+09 (--max-work): make it smaller, or raise --max-work (-1: no limit)` + "\n"},
		{&simulate.LimitError{What: "replay", Resource: "memory", Need: 3 << 30, Limit: 1 << 30, Running: true},
			"prog simulate: replay stopped after reaching 3 GiB of memory, more than the limit of 1 GiB (--max-memory): make it smaller, or raise --max-memory (-1: no limit)\n"},
	} {
		var stderr bytes.Buffer
		code := Execute(context.Background(), newTestRoot(fmt.Errorf("wrapped: %w", c.err)), []string{"simulate"}, io.Discard, &stderr)
		if code != ExitRefused || stderr.String() != c.want {
			t.Errorf("exit %d, stderr\n%q\nwant\n%q", code, stderr.String(), c.want)
		}
	}
}
