package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tollgate/tollgate/internal/outfile"
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
