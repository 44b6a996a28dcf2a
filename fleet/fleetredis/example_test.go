package fleetredis_test

import (
	"context"
	"os"
	"time"

	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/fleet/fleetredis"
	"github.com/tollgate/tollgate/limiter"
)

// Every process of the fleet runs this with the same Redis: together they send at most what
// EC2's DescribeInstances bucket (100 tokens, 20 per second) admits — and what every other
// unpartitioned rule's bucket admits — and learn one rate per bucket from AWS's answers.
func Example() {
	// redis://[user:password@]host:port[/db]; rediss:// for TLS.
	fl, err := fleetredis.Dial(os.Getenv(fleet.URLEnv), fleet.Options{})
	if err != nil {
		panic(err)
	}
	defer fl.Close(context.Background()) // gives the leases back at once
	lim := limiter.New(limiter.DefaultRules(), limiter.WithStore(fl.Store(fleet.StoreOptions{})))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := limiter.Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	if err := lim.Wait(ctx, key, 0); err != nil {
		return // a client-side refusal (*limiter.RefusedError) or ctx's error
	}
	// ... send the call, then tell the limiter what AWS answered:
	lim.Feedback(time.Now(), key, limiter.Feedback{Throttled: false})
}
