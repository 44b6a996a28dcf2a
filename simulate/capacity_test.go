package simulate_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/server"
)

// A capacity schedule changes an API's bucket over time and fails every request during an
// outage: with no retries, the accepted calls are each step's burst plus its refill.
func TestCapacitySchedule(t *testing.T) {
	steps := []server.CapacityStep{
		{Service: "EC2", Operation: "DescribeInstances", Start: 0, Rate: 10, Burst: 20},
		{Service: "EC2", Operation: "DescribeInstances", Start: 10 * time.Second, Outage: true},
		{Service: "EC2", Operation: "DescribeInstances", Start: 15 * time.Second, Rate: 5, Burst: 10},
	}
	s := &simulate.Scenario{Name: "capacity", Duration: 25 * time.Second, Seed: 2, Strategies: []string{"no-retry"},
		Server: simulate.ServerSpec{Capacity: &server.CapacitySchedule{Steps: steps}},
		Groups: []simulate.Group{{Name: "g", Loop: simulate.OpenLoop, Rate: 200, RTT: time.Millisecond,
			Operations: []simulate.Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Strategies[0]
	// 0–10 s: 20 + 10·10 = 120; outage: about 200·5 = 1000 failures; 15–25 s: the bucket kept
	// its tokens through the outage, capped at the new burst 10, + 5·10 = 60.
	if st.Successes < 176 || st.Successes > 180 {
		t.Errorf("%d successes, want about 180", st.Successes)
	}
	if st.ServerErrors < 900 || st.ServerErrors > 1100 {
		t.Errorf("%d server errors during the 5 s outage at 200/s, want about 1000", st.ServerErrors)
	}
}

func TestOCCRow(t *testing.T) {
	var r server.OCCRow
	a, b := r.Read(), r.Read()
	if !r.Write(a) || r.Write(b) || r.Writes() != 2 || r.Conflicts() != 1 || r.Read() != 1 {
		t.Fatalf("OCC row: writes %d conflicts %d version %d", r.Writes(), r.Conflicts(), r.Read())
	}
}
