package fleet

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
)

// LeaseScript is the Lua script (script.lua) that applies a lease request to a bucket's two
// keys in Redis, atomically, on the server's clock. A Conn runs it.
//
//go:embed script.lua
var LeaseScript string

// Conn is what a Client needs of Redis: to run LeaseScript on a bucket's two keys (KEYS) with
// args (ARGV) and return the script's reply, a list of strings. Package fleetredis provides
// one over any go-redis client (EVALSHA, falling back to EVAL when the server does not know
// the script: one round trip either way except the first time each server sees it). Keeping
// Redis's client out of this package keeps it, and the simulator that runs its lease code in
// virtual time, light to build.
type Conn interface {
	RunLease(ctx context.Context, keys []string, args []any) ([]string, error)
}

// runScript applies q to the bucket's keys in Redis. now is the time to apply it at in µs, or 0
// for the server's clock (TIME): the store's one clock judges every process. Tests pass an
// explicit now to compare the script with State.Apply.
func runScript(ctx context.Context, rdb Conn, k [2]string, q *Request, now int64) (Reply, error) {
	release, adaptive := "0", "0"
	if q.Release {
		release = "1"
	}
	if q.Adaptive {
		adaptive = "1"
	}
	args := []any{q.Client, q.ReqID, q.Seq, q.Epoch, fmtFloat(q.Demand), fmtFloat(q.Level),
		fmtFloat(q.Unbacked), fmtFloat(q.Rate), fmtFloat(q.Burst), fmtFloat(q.MinBurst), q.TTL, release, now, fmtFloat(q.Overflow), fmtFloat(q.Allowance), q.Fleet,
		fmtFloat(q.Succ), fmtFloat(q.Thr), adaptive}
	v, err := rdb.RunLease(ctx, k[:], args)
	if err != nil {
		return Reply{}, err
	}
	return parseReply(v)
}

// fmtFloat formats x so that it reads back as the same float64 (Lua's tonumber does too).
func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', 17, 64) }

// parseReply decodes the script's reply.
func parseReply(v []string) (Reply, error) {
	if len(v) != 13 {
		return Reply{}, fmt.Errorf("fleet: lease script replied %d values, want 13", len(v))
	}
	var (
		r    Reply
		errs []error
	)
	u := func(s string) uint64 {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	i := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	f := func(s string) float64 {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs = append(errs, err)
		}
		return x
	}
	r.Seq, r.Epoch = u(v[0]), v[1]
	r.Share, r.Burst, r.Level = f(v[2]), f(v[3]), f(v[4])
	r.TTL, r.Live, r.Pool = i(v[5]), int(i(v[6])), f(v[7])
	r.Lost, r.Replayed, r.Carry = v[8] == "1", v[9] == "1", i(v[10])
	r.Rate, r.Learned = f(v[11]), v[12] == "1"
	if len(errs) > 0 {
		return Reply{}, fmt.Errorf("fleet: lease script reply %q: %w", v, errs[0])
	}
	return r, nil
}
