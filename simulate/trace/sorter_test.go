package trace

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

// shuffledRecords returns n records with many equal times, in random order; Units numbers
// them so that order among equal times can be checked.
func shuffledRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 2))
	recs := genRecords(n, seed)
	base := recs[0].Time
	for i := range recs {
		recs[i].Time = base.Add(time.Duration(rng.IntN(n/4+1)) * time.Millisecond)
		recs[i].Units = i
	}
	return recs
}

func TestSorterIsStableSortByTime(t *testing.T) {
	in := shuffledRecords(500, 5)
	want := slices.Clone(in)
	slices.SortStableFunc(want, func(a, b Record) int { return a.Time.Compare(b.Time) })
	// Chunk sizes: all in memory, a few runs, more runs than one merge takes (two passes).
	for _, chunk := range []int{0, 100, 7, 1} {
		dir := t.TempDir()
		s := NewSorter(dir, chunk)
		for i := range in {
			if err := s.Add(&in[i]); err != nil {
				t.Fatal(err)
			}
		}
		src, err := s.Sorted()
		if err != nil {
			t.Fatal(err)
		}
		got, skipped := readAll(t, src)
		checkSkipped(t, skipped, nil)
		checkRecords(t, got, want)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("chunk %d: %d temporary entries left after Close", chunk, len(left))
		}
	}
}

func TestSorterRefusesMisuse(t *testing.T) {
	s := NewSorter(t.TempDir(), 0)
	defer s.Close()
	if err := s.Add(&Record{}); err == nil {
		t.Error("Add accepted an invalid record")
	}
	if _, err := s.Sorted(); err != nil {
		t.Fatal(err)
	}
	rec := genRecords(1, 1)[0]
	if err := s.Add(&rec); err == nil {
		t.Error("Add after Sorted accepted")
	}
	if _, err := s.Sorted(); err == nil {
		t.Error("second Sorted accepted")
	}
}

// flakySource yields its records, with an InputError before the second.
type flakySource struct {
	recs   []Record
	i      int
	failed bool
}

func (f *flakySource) Read(rec *Record) error {
	if f.i == 1 && !f.failed {
		f.failed = true
		return &InputError{File: "flaky", Line: 2, Reason: ReasonMalformedLine}
	}
	if f.i >= len(f.recs) {
		return io.EOF
	}
	*rec = f.recs[f.i]
	f.i++
	return nil
}

func TestMerge(t *testing.T) {
	base := date(2025, 3, 14, 9, 0, 0, 0)
	mk := func(src int, secs ...int) []Record {
		var out []Record
		for _, s := range secs {
			out = append(out, Record{Time: base.Add(time.Duration(s) * time.Second), Service: "EC2", Operation: "X", Outcome: OutcomeSuccess, Units: src})
		}
		return out
	}
	a, b, c := mk(0, 1, 3, 3, 7), mk(1, 0, 3, 8), mk(2, 3)
	m := Merge(&sliceSource{recs: a}, &flakySource{recs: b}, &sliceSource{recs: c}, &sliceSource{})
	got, skipped := readAll(t, m)
	checkSkipped(t, skipped, []skip{{2, "", ReasonMalformedLine}})
	var order [][2]int
	for _, r := range got {
		order = append(order, [2]int{int(r.Time.Sub(base) / time.Second), r.Units})
	}
	want := [][2]int{{0, 1}, {1, 0}, {3, 0}, {3, 0}, {3, 1}, {3, 2}, {7, 0}, {8, 1}}
	if !slices.Equal(order, want) {
		t.Errorf("merged (second, source) = %v, want %v", order, want)
	}
	boom := errors.New("boom")
	m = Merge(&sliceSource{recs: a}, errSource{boom})
	var rec Record
	for range 2 {
		if err := m.Read(&rec); !errors.Is(err, boom) {
			t.Errorf("error %v, want %v (sticky)", err, boom)
		}
	}
}

type errSource struct{ err error }

func (e errSource) Read(*Record) error { return e.err }

// TestSorterMemoryDoesNotGrow sorts a long stream of unordered records with small chunks and
// reports the live heap while adding and while reading: it must not grow with the input.
func TestSorterMemoryDoesNotGrow(t *testing.T) {
	n, chunk := 300_000, 10_000
	if testing.Short() || raceEnabled {
		n = 60_000
	}
	s := NewSorter(t.TempDir(), chunk)
	defer s.Close()
	gen := &recordStream{n: n}
	r := NewReader(gen, "gen")
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapInuse)
	}
	var rec Record
	var early int64
	for i := range n {
		if err := r.Read(&rec); err != nil {
			t.Fatal(err)
		}
		rec.Time = rec.Time.Add(time.Duration((i*7919)%n) * time.Second) // out of order
		if err := s.Add(&rec); err != nil {
			t.Fatal(err)
		}
		if i == n/10 {
			early = heap()
		}
	}
	added := heap()
	src, err := s.Sorted()
	if err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	var reading int64
	for i := range n {
		if err := src.Read(&rec); err != nil {
			t.Fatal(err)
		}
		if rec.Time.Before(prev) {
			t.Fatalf("record %d out of order", i)
		}
		prev = rec.Time
		if i == n/2 {
			reading = heap()
		}
	}
	t.Logf("heap in use: %d KiB after %d records added, %d KiB after %d, %d KiB while reading the sorted output",
		early>>10, n/10, added>>10, n, reading>>10)
	if added-early > 4<<20 || reading-early > 4<<20 {
		t.Errorf("heap grew by more than 4 MiB: %d → %d → %d KiB", early>>10, added>>10, reading>>10)
	}
}
