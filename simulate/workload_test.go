package simulate

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
)

// starts records when each call started, from which process, calling what.
type starts struct {
	mu sync.Mutex
	s  []string
}

func (r *starts) Observe(ev event.Event) {
	if ev.Kind == event.CallStarted {
		r.mu.Lock()
		r.s = append(r.s, ev.Time.Sub(Epoch).String()+" "+ev.Client+" "+ev.Operation)
		r.mu.Unlock()
	}
}

// Arrivals and WorkerStarts are the engine's own draws: a real-time run that starts the calls
// they list starts the same calls as the simulated run.
func TestWorkloadDrawsAreTheEngines(t *testing.T) {
	sc := &Scenario{Name: "w", Duration: 5 * time.Second, Seed: 9, Strategies: []string{"sdk-standard"},
		Groups: []Group{
			{Name: "open", Loop: OpenLoop, Processes: 3, Phases: []Phase{{At: 0, Rate: 30}, {At: 2 * time.Second, Rate: 80}},
				Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances", Weight: 2},
					{Service: "S3", Operation: "GetObject", Resource: "b", Prefixes: []string{"a/", "b/"}}}},
			{Name: "closed", Loop: ClosedLoop, Processes: 2, Workers: 3, Think: 100 * time.Millisecond, Start: time.Second,
				Operations: []Operation{{Service: "EC2", Operation: "DescribeVolumes"}}},
		}}
	rec := &starts{}
	if _, err := Simulate(context.Background(), sc, Options{Observer: rec}); err != nil {
		t.Fatal(err)
	}
	arr, err := Arrivals(sc, 0, sc.RunSeed(0))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range arr {
		want = append(want, a.At.String()+" open/"+strconv.Itoa(a.Process)+" "+sc.Groups[0].Operations[a.Operation].Operation)
	}
	var got []string
	for _, s := range rec.s {
		if strings.Contains(s, " open/") {
			got = append(got, s)
		}
	}
	if len(got) != len(want) || len(want) < 200 {
		t.Fatalf("%d open-loop calls started, Arrivals lists %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("call %d: engine %q, Arrivals %q", i, got[i], want[i])
		}
	}
	ws, err := WorkerStarts(sc, 1, sc.RunSeed(0))
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]bool{}
	for _, s := range rec.s {
		if strings.Contains(s, " closed/") && !first[s] {
			first[s] = true
		}
	}
	for i, at := range ws {
		s := at.String() + " closed/" + strconv.Itoa(i/3) + " DescribeVolumes"
		if !first[s] {
			t.Errorf("worker %d: no call started at %s", i, s)
		}
	}
}
