package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

// limitFlags are --max-work and --max-memory: the bounds a run is checked against before it
// starts and while it runs (simulate.Limits). A run above one is refused with exit status 4.
type limitFlags struct {
	work, memory int64
}

// registerWork defines --max-work (simulate: the library bounds a scenario's work).
func (l *limitFlags) registerWork(fs *pflag.FlagSet) {
	cli.CountVar(fs, &l.work, "max-work", 0, cli.AtLeast(int64(-1)),
		"most calls + attempts the simulation may make, over every strategy and run, estimated before it starts and counted while it runs "+
			"(0: 1e9, about ten minutes of one core; -1: no limit)")
}

// registerMemory defines --max-memory; what says what it bounds.
func (l *limitFlags) registerMemory(fs *pflag.FlagSet, what string) {
	cli.BytesVar(fs, &l.memory, "max-memory", 0, cli.AtLeast(int64(-1)),
		"most memory "+what+" may hold, e.g. 512MiB or 4GiB (0: 1GiB; -1: no limit)")
}

func (l *limitFlags) limits() simulate.Limits {
	return simulate.Limits{MaxWork: l.work, MaxMemory: l.memory}
}

// orderFlags are --order-window and --order-buffer: how far out of time order a trace's
// records may come and still be put in order as they are read (trace.InOrder).
type orderFlags struct {
	window time.Duration
	buffer int
}

// maxOrderBuffer bounds --order-buffer: a record held takes a few hundred bytes.
const maxOrderBuffer = 1 << 20

func (o *orderFlags) register(fs *pflag.FlagSet) {
	cli.DurationVar(fs, &o.window, "order-window", trace.DefaultOrderWindow, cli.Above(time.Duration(0)),
		"how much earlier than the latest record read a record may come and still be put in time order")
	cli.IntVar(fs, &o.buffer, "order-buffer", trace.DefaultOrderBuffer, cli.Between(1, maxOrderBuffer),
		"most records held while putting the trace in time order")
}
