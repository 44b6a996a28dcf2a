package fleet_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/fleet"
)

// Every process of the fleet runs this with the same Redis: together they send at most what
// EC2's DescribeInstances bucket (100 tokens, 20 per second) admits.
func Example() {
	opt, err := redis.ParseURL("redis://127.0.0.1:6379/0") // rediss://user:pass@host:port for TLS and AUTH
	if err != nil {
		panic(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	store, err := fleet.New(rdb, fleet.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close(context.Background())

	bucket := fleet.BucketID{Rule: "ec2-describe", Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	shape := fleet.Spec{Rate: 20, Burst: 100}
	d := store.Reserve(time.Now(), bucket, shape, 1, 5*time.Second)
	if !d.OK {
		fmt.Println("refused on the client side:", d.Reason)
		return
	}
	time.Sleep(d.Delay) // then send the call
}
