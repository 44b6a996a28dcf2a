package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/fleet/fleetredis"
	"github.com/tollgate/tollgate/limiter"
)

// loadFleet is the limiters of a load's processes and, with a Redis URL, the fleet clients
// they share their buckets through.
type loadFleet struct {
	limiters []*limiter.Limiter // one per process; nil without tollgate's limiter
	clients  []*fleet.Client
	store    string // the Redis URL without its password; "" without a store
}

// newLoadFleet builds one limiter per process from rules (none when !tollgate or rules is nil)
// and, when redisURL is set, one fleet client per process — its own connection, as a pod
// would have — whose events go to obs and whose fallbacks and recoveries are logged on stderr.
func newLoadFleet(redisURL string, processes int, rules limiter.Rules, maxWait time.Duration, tollgate bool, obs event.Observer, stderr io.Writer) (*loadFleet, error) {
	fl := &loadFleet{}
	if !tollgate || rules == nil {
		return fl, nil
	}
	if redisURL != "" {
		u, err := url.Parse(redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url: not a URL; want redis://[user:password@]host:port[/db]")
		}
		fl.store = fleet.RedactURL(u)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if redisURL != "" {
		// The fleet logs its fallbacks and recoveries; go-redis's own dial errors while the
		// server is down would repeat them many times a second.
		redis.SetLogger(quietRedis{})
	}
	for p := range processes {
		var opts []limiter.Option
		if maxWait > 0 {
			opts = append(opts, limiter.WithMaxWait(maxWait))
		}
		if redisURL != "" {
			c, err := fleetredis.Dial(redisURL, fleet.Options{Observer: obs, Logger: log.With("process", p)})
			if err != nil {
				fl.close(io.Discard)
				return nil, err
			}
			fl.clients = append(fl.clients, c)
			opts = append(opts, limiter.WithStore(c.Store(fleet.StoreOptions{})))
		}
		fl.limiters = append(fl.limiters, limiter.New(rules, opts...))
	}
	return fl, nil
}

// close gives the processes' leases back and closes their connections, and says on stderr how
// many store round trips the decisions took.
func (fl *loadFleet) close(stderr io.Writer) {
	if len(fl.clients) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var trips, decisions uint64
	for _, c := range fl.clients {
		trips, decisions = trips+c.RoundTrips(), decisions+c.Decisions()
		if err := c.Close(ctx); err != nil {
			fmt.Fprintln(stderr, "tollgate-live load:", err)
		}
	}
	per := 0.0
	if decisions > 0 {
		per = float64(trips) / float64(decisions)
	}
	fmt.Fprintf(stderr, "tollgate-live load: fleet store %s: %d round trips for %d decisions (%.3f per decision)\n", fl.store, trips, decisions, per)
	fl.clients = nil
}

// quietRedis drops go-redis's log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
