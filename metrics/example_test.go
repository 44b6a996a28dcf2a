package metrics_test

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/metrics"
)

// Register a Collector and give it to tollgate as its Observer (middleware.Config.Observer);
// here two events stand in for a throttled attempt.
func ExampleRegister() {
	reg := prometheus.NewRegistry()
	col, err := metrics.Register(reg, metrics.Options{})
	if err != nil {
		panic(err)
	}
	again, _ := metrics.Register(reg, metrics.Options{}) // another client, same registry
	fmt.Println("shared:", again == col)

	col.Observe(event.Event{Kind: event.AttemptFinished, Service: "S3", Operation: "PutObject",
		Outcome: backoff.Throttle, ErrorCode: "SlowDown", Status: 503, Duration: 30 * time.Millisecond})
	col.Observe(event.Event{Kind: event.AttemptFinished, Service: "S3", Operation: "PutObject",
		Outcome: backoff.Throttle, ErrorCode: "my-bucket", Status: 503})

	n, _ := testutil.GatherAndCount(reg, metrics.NameThrottles)
	fmt.Println("throttle series:", n)
	// Output:
	// shared: true
	// throttle series: 2
}
