// Package fleetredis connects package fleet to Redis through go-redis: Dial (a URL, as
// tollgate's commands take it from --redis-url or TOLLGATE_REDIS_URL), New (any go-redis
// client: *redis.Client, *redis.ClusterClient, *redis.Ring) and Conn (the fleet.Conn over one).
//
// It is a package of its own so that package fleet — the lease model, which the simulator
// runs in virtual time — builds without go-redis, whose compilation takes over a gigabyte of
// memory from a cold build cache.
package fleetredis

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/fleet"
)

// leaseScript is fleet.LeaseScript for go-redis: Run sends EVALSHA and falls back to EVAL
// when the server does not know the script (a restarted server, a new cluster node).
var leaseScript = redis.NewScript(fleet.LeaseScript)

// New returns a fleet.Client that keeps shared buckets in Redis through rdb. Closing the Client
// leaves rdb open (it is the caller's).
func New(rdb redis.Scripter, opt fleet.Options) (*fleet.Client, error) {
	if rdb == nil {
		return fleet.New(nil, opt)
	}
	return fleet.New(Conn(rdb), opt)
}

// Conn returns the fleet.Conn that runs the lease script through rdb.
func Conn(rdb redis.Scripter) fleet.Conn { return conn{rdb} }

type conn struct{ rdb redis.Scripter }

func (c conn) RunLease(ctx context.Context, keys []string, args []any) ([]string, error) {
	return leaseScript.Run(ctx, c.rdb, keys, args...).StringSlice()
}
