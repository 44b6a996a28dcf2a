package server

import (
	"testing"

	"github.com/tollgate/tollgate/limiter"
	"time"
)

func TestPrefixOf(t *testing.T) {
	for key, want := range map[string]string{
		"": "", "root": "", "logs/": "logs/", "logs/2025/03/file.gz": "logs/2025/03/", "/lead": "/", "a//b": "a//",
	} {
		if got := PrefixOf(key); got != want {
			t.Errorf("PrefixOf(%q) = %q, want %q", key, got, want)
		}
	}
}

// drive sends, during each second from..to, rate requests per second spread evenly, for each
// of the given (prefix, operation, rate) streams, and returns the refusals per second.
type stream struct {
	prefix, op string
	rate       int
}

func drive(m *Model, from, to int, streams ...stream) []int {
	refused := make([]int, 0, to-from)
	for s := from; s < to; s++ {
		n := 0
		next := make([]int, len(streams)) // next request index of each stream this second
		at := func(k int) time.Duration { // when stream k's next request is due
			return time.Duration(s)*time.Second + time.Duration(next[k])*time.Second/time.Duration(streams[k].rate)
		}
		for {
			k := -1 // the stream whose next request comes first (ties: the earlier stream)
			for i := range streams {
				if next[i] < streams[i].rate && (k < 0 || at(i) < at(k)) {
					k = i
				}
			}
			if k < 0 {
				break
			}
			st := streams[k]
			v := m.Decide(t0.Add(at(k)), Request{Region: "us-east-1", Service: "S3", Operation: st.op, Resource: "bkt", Prefix: st.prefix})
			if v.Outcome != Accepted {
				n++
			}
			next[k]++
		}
		refused = append(refused, n)
	}
	return refused
}

// TestPartitionsSplitHotPrefix uses AWS's default 3,500 writes per second per partition: a new
// hot prefix (3,000/s) joins an established one (2,000/s) in the parent partition, which
// refuses the excess once its burst is spent, until the split — scheduled after SplitAfter of
// sustained overload, done SplitDelay later — gives the hot prefix its own partition.
func TestPartitionsSplitHotPrefix(t *testing.T) {
	m := newModel(t, Config{SplitAfter: 5 * time.Second, SplitDelay: 10 * time.Second})
	refused := drive(m, 0, 25, stream{"hot/", "PutObject", 3000}, stream{"cold/", "PutObject", 2000})
	// 5,000 offered against 3,500 refilled: the full bucket (3,500) lasts 3,500/1,500 = 2.33 s,
	// then 1,500 are refused each second. The overload began at 2.33 s, so the split is
	// scheduled at 7.33 s and happens at 17.33 s.
	for s, n := range refused {
		switch {
		case s < 2 && n != 0:
			t.Errorf("second %d: %d refused, want 0 while the burst lasts", s, n)
		case s >= 3 && s < 17 && (n < 1490 || n > 1510):
			t.Errorf("second %d: %d refused, want about 1,500 before the split", s, n)
		case s >= 18 && n != 0:
			t.Errorf("second %d: %d refused, want 0 after the split", s, n)
		}
	}
	p := m.Partitions()
	if !p.HasPartition("us-east-1", "bkt", "hot/") || p.HasPartition("us-east-1", "bkt", "cold/") || p.Splits() != 1 {
		t.Errorf("after the split: hot/ %v, cold/ %v, splits %d; want hot/ split off once",
			p.HasPartition("us-east-1", "bkt", "hot/"), p.HasPartition("us-east-1", "bkt", "cold/"), p.Splits())
	}
}

func TestPartitionsReadsAndWritesHaveSeparateBuckets(t *testing.T) {
	m := newModel(t, Config{})
	refused := drive(m, 0, 3, stream{"p/", "GetObject", 5000}, stream{"p/", "HeadObject", 400}, stream{"p/", "PutObject", 3400})
	for s, n := range refused {
		if n != 0 {
			t.Errorf("second %d: %d refused, want 0 (5,400 reads < 5,500; 3,400 writes < 3,500)", s, n)
		}
	}
}

func TestPartitionsShortOverloadDoesNotSplit(t *testing.T) {
	m := newModel(t, Config{SplitAfter: 5 * time.Second, SplitDelay: time.Second})
	// Refusing for about 2 s, quiet for 2 s (the bucket refills), refusing for 2 s again:
	// never 5 s in a row.
	first := drive(m, 0, 3, stream{"hot/", "PutObject", 8000})
	drive(m, 3, 5, stream{"hot/", "PutObject", 100})
	second := drive(m, 5, 8, stream{"hot/", "PutObject", 8000})
	drive(m, 8, 20, stream{"hot/", "PutObject", 100})
	if first[2] == 0 || second[2] == 0 || m.Partitions().Splits() != 0 {
		t.Errorf("refusals %v then %v, splits %d; want overloads but no split", first, second, m.Partitions().Splits())
	}
}

func TestPartitionsRootKeysNeverSplit(t *testing.T) {
	m := newModel(t, Config{SplitAfter: time.Second, SplitDelay: time.Second})
	refused := drive(m, 0, 6, stream{"", "PutObject", 6000})
	if m.Partitions().Splits() != 0 || refused[5] == 0 {
		t.Errorf("splits = %d, last second's refusals %d: keys without a prefix share the parent for good", m.Partitions().Splits(), refused[5])
	}
}

func TestPresplitPrefixHasItsOwnPartition(t *testing.T) {
	lim := limiter.New(limiter.DefaultRules())
	p := NewPartitions(lim, 0, 0)
	p.Presplit("data", "hot/")
	now := time.Unix(1_700_000_000, 0)
	put := func(prefix string) bool {
		ok, _ := p.Admit(now, Request{Region: "us-east-1", Service: "S3", Operation: "PutObject", Resource: "data", Prefix: prefix})
		return ok
	}
	for i := 0; i < 3500; i++ {
		if !put("hot/") {
			t.Fatalf("hot/ refused at write %d of its own 3,500", i)
		}
	}
	if put("hot/") {
		t.Fatal("hot/ admitted a 3,501st write in one instant")
	}
	// The other prefixes still have the whole parent partition.
	for i := 0; i < 3500; i++ {
		if !put("cold/") {
			t.Fatalf("cold/ refused at write %d: hot/ was charged to the parent", i)
		}
	}
	if !p.HasPartition("us-east-1", "data", "hot/") || p.HasPartition("us-east-1", "data", "cold/") {
		t.Error("HasPartition disagrees with the presplit")
	}
}
