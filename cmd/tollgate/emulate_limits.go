package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

// emulatorLimits are emulate's flags for emulator.Options' limits. Timeouts of 0 mean none.
type emulatorLimits struct {
	maxObject, maxStore, maxRequestMemory   int64
	maxConns                                int
	readHeader, bodyIdle, read, write, idle time.Duration
}

// maxEmulatorBytes bounds the size flags: the emulator holds what they allow in memory.
const maxEmulatorBytes = 1 << 40

func (l *emulatorLimits) register(fs *pflag.FlagSet) {
	size := cli.Between(int64(1), int64(maxEmulatorBytes))
	cli.BytesVar(fs, &l.maxObject, "max-object-size", emulator.DefaultMaxObjectSize, size, "largest object one S3 PUT stores (S3's own: 5GiB)")
	cli.BytesVar(fs, &l.maxStore, "max-store-size", emulator.DefaultMaxStoreSize, size, "bytes of every S3 object held, uploads in progress included")
	cli.BytesVar(fs, &l.maxRequestMemory, "max-request-memory", emulator.DefaultMaxRequestMemory, size, "bytes of the other request bodies held by the requests being served")
	cli.IntVar(fs, &l.maxConns, "max-connections", emulator.DefaultMaxConnections, cli.Between(1, 1<<20), "connections served at once; more are closed as soon as accepted")
	timeout := cli.AtLeast(time.Duration(0))
	cli.DurationVar(fs, &l.readHeader, "read-header-timeout", emulator.DefaultReadHeaderTimeout, timeout, "time a client may take to send a request's headers (0: none)")
	cli.DurationVar(fs, &l.bodyIdle, "body-idle-timeout", emulator.DefaultBodyIdleTimeout, timeout, "longest pause in a request body, answered like S3 with RequestTimeout (0: none)")
	cli.DurationVar(fs, &l.read, "read-timeout", emulator.DefaultReadTimeout, timeout, "time to read a whole request, body included (0: none)")
	cli.DurationVar(fs, &l.write, "write-timeout", emulator.DefaultWriteTimeout, timeout, "time to serve a request and write its response (0: none)")
	cli.DurationVar(fs, &l.idle, "idle-timeout", emulator.DefaultIdleTimeout, timeout, "how long a keep-alive connection may wait for its next request (0: none)")
}

// apply sets the limits in opts (where a timeout of 0 is the default and a negative one none).
func (l *emulatorLimits) apply(opts *emulator.Options) error {
	if l.maxObject > l.maxStore {
		return cli.Usagef("--max-object-size (%d bytes) must not exceed --max-store-size (%d bytes)", l.maxObject, l.maxStore)
	}
	none := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	opts.MaxObjectSize, opts.MaxStoreSize, opts.MaxRequestMemory, opts.MaxConnections = l.maxObject, l.maxStore, l.maxRequestMemory, l.maxConns
	opts.ReadHeaderTimeout, opts.BodyIdleTimeout = none(l.readHeader), none(l.bodyIdle)
	opts.ReadTimeout, opts.WriteTimeout, opts.IdleTimeout = none(l.read), none(l.write), none(l.idle)
	return nil
}

// loadRulesOverDefaults reads a rules file a user named, bounded (simulate.LoadRules: a
// regular file of at most 1 MiB, whose content is never quoted until it is known to be a
// rules file), and merges it over AWS's published quotas as the emulator does.
func loadRulesOverDefaults(path string) (limiter.Rules, error) {
	rs, err := simulate.LoadRules(path)
	if err != nil {
		return nil, err
	}
	return server.MergeRules(limiter.DefaultRules(), rs), nil
}
