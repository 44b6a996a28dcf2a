package event

import (
	"testing"

	"github.com/tollgate/tollgate/backoff"
)

func TestMulti(t *testing.T) {
	if Multi() != nil || Multi(nil, nil) != nil {
		t.Fatal("Multi of nothing is not nil")
	}
	var a, b []Kind
	oa := ObserverFunc(func(e Event) { a = append(a, e.Kind) })
	ob := ObserverFunc(func(e Event) { b = append(b, e.Kind) })
	if _, single := Multi(nil, oa).(ObserverFunc); !single {
		t.Fatal("Multi of one observer should return it unwrapped")
	}
	m := Multi(oa, nil, ob)
	m.Observe(Event{Kind: AttemptFinished, Outcome: backoff.Throttle})
	m.Observe(Event{Kind: CallFinished})
	if len(a) != 2 || len(b) != 2 || a[0] != AttemptFinished || b[1] != CallFinished {
		t.Fatalf("fan-out: a=%v b=%v", a, b)
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := CallStarted; k <= StoreRecovered; k++ {
		n := k.String()
		if n == "unknown" || seen[n] {
			t.Errorf("kind %d has name %q", k, n)
		}
		seen[n] = true
	}
	if Kind(0).String() != "unknown" || Kind(200).String() != "unknown" {
		t.Error("out-of-range kinds should be unknown")
	}
}
