package fleet

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// testScript and redisConn are fleetredis.Conn for this package's tests (fleetredis imports
// fleet, so they cannot import it).
var testScript = redis.NewScript(LeaseScript)

type redisConn struct{ rdb redis.Scripter }

func (c redisConn) RunLease(ctx context.Context, keys []string, args []any) ([]string, error) {
	return testScript.Run(ctx, c.rdb, keys, args...).StringSlice()
}
