package trace

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// jsonlTrace writes records at the given offsets (milliseconds from 09:00:00) as a native
// trace, one per line; a negative offset writes a line that is not JSON.
func jsonlTrace(offsetsMS []int) string {
	var b strings.Builder
	t0 := date(2025, 3, 14, 9, 0, 0, 0)
	for i, ms := range offsetsMS {
		if ms < 0 {
			b.WriteString("not json\n")
			continue
		}
		t := t0.Add(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(&b, `{"time":%q,"service":"EC2","operation":"DescribeInstances","region":"us-east-1","outcome":"success","client":"c%d"}`+"\n",
			t.Format(time.RFC3339Nano), i)
	}
	return b.String()
}

// readOrdered reads an InOrder source to the end or to its first fatal error.
func readOrdered(src *Ordered) (recs []Record, lines []int64, skipped int, err error) {
	for {
		var r Record
		err := src.Read(&r)
		if err == io.EOF {
			return recs, lines, skipped, nil
		}
		var ie *InputError
		if errors.As(err, &ie) {
			skipped++
			continue
		}
		if err != nil {
			return recs, lines, skipped, err
		}
		_, line := src.Position()
		recs, lines = append(recs, r), append(lines, line)
	}
}

func TestInOrder(t *testing.T) {
	shuffled := make([]int, 20000)
	for i := range shuffled {
		shuffled[i] = i * 10 // 200 s of records
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	firstLate := 0 // the first line InOrder cannot put back in order, found by brute force below
	cases := []struct {
		name    string
		offsets []int
		window  time.Duration
		buffer  int
		// want: the output order as input lines (1-based), or the late line of an *OrderError
		want     []int64
		lateLine int64
		skipped  int
	}{
		{name: "sorted passes through", offsets: []int{0, 10, 10, 20, 5000}, want: []int64{1, 2, 3, 4, 5}},
		{name: "a little out of order is sorted", offsets: []int{0, 300, 100, 200, 90_000, 60_500}, want: []int64{1, 3, 4, 2, 6, 5}},
		{name: "equal times keep their order", offsets: []int{50, 50, 10, 50}, want: []int64{3, 1, 2, 4}},
		{name: "later than the window", offsets: []int{0, 1000, 70_000, 5000, 2000}, lateLine: 5},
		{name: "more records than the buffer", offsets: []int{100, 200, 300, 400, 0}, buffer: 3, lateLine: 5},
		{name: "bad lines are passed on", offsets: []int{0, -1, 20, 10, -1}, want: []int64{1, 4, 3}, skipped: 2},
		{name: "a shuffled trace", offsets: shuffled, lateLine: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := InOrder(NewReader(strings.NewReader(jsonlTrace(c.offsets)), "t.jsonl"), c.window, c.buffer)
			recs, lines, skipped, err := readOrdered(src)
			if c.lateLine != 0 {
				var oe *OrderError
				if !errors.As(err, &oe) {
					t.Fatalf("want an *OrderError, got %v after %d records", err, len(recs))
				}
				want := c.lateLine
				if want < 0 {
					// The first record earlier than the latest one passed on, counting as InOrder does.
					want = int64(firstLateLine(c.offsets, DefaultOrderWindow, DefaultOrderBuffer))
					firstLate = int(want)
				}
				if oe.File != "t.jsonl" || oe.Line != want || !strings.Contains(err.Error(), fmt.Sprintf("t.jsonl:%d: field \"time\"", want)) ||
					!strings.Contains(err.Error(), "not sorted by time") {
					t.Fatalf("error %q (line %d), want t.jsonl:%d", err, oe.Line, want)
				}
				var again Record
				if err2 := src.Read(&again); err2 != err {
					t.Fatalf("the error is not sticky: %v", err2)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(lines) != fmt.Sprint(c.want) || skipped != c.skipped {
				t.Fatalf("lines %v skipped %d, want %v and %d", lines, skipped, c.want, c.skipped)
			}
			for i := 1; i < len(recs); i++ {
				if recs[i].Time.Before(recs[i-1].Time) {
					t.Fatalf("record %d out of order", i)
				}
			}
		})
	}
	if firstLate == 0 || firstLate > 100 {
		t.Errorf("a shuffled trace was detected at line %d only", firstLate)
	}
}

// firstLateLine simulates InOrder's rule on offsets and returns the first late line (1-based).
func firstLateLine(offsets []int, window time.Duration, buffer int) int {
	var held []int
	newest, lastOut, out := -1, 0, false
	for i, ms := range offsets {
		for len(held) > 0 {
			m := 0
			for j := range held {
				if held[j] < held[m] {
					m = j
				}
			}
			if len(held) < buffer && time.Duration(newest-held[m])*time.Millisecond < window {
				break
			}
			lastOut, out = held[m], true
			held = append(held[:m], held[m+1:]...)
		}
		if out && ms < lastOut {
			return i + 1
		}
		held = append(held, ms)
		newest = max(newest, ms)
	}
	return 0
}

// Merge checks its precondition: a source out of time order stops it with an *OrderError
// naming the record, and Position names where each merged record came from.
func TestMergeChecksOrder(t *testing.T) {
	a := NewReader(strings.NewReader(jsonlTrace([]int{0, 20, 40})), "a.jsonl")
	b := NewReader(strings.NewReader(jsonlTrace([]int{10, 30, 5})), "b.jsonl")
	m := Merge(a, b).(*merger)
	var where []string
	var err error
	for {
		var r Record
		if err = m.Read(&r); err != nil {
			break
		}
		f, l := m.Position()
		where = append(where, fmt.Sprintf("%s:%d", f, l))
	}
	var oe *OrderError
	if !errors.As(err, &oe) || oe.File != "b.jsonl" || oe.Line != 3 || !strings.Contains(err.Error(), "b.jsonl:3: field \"time\"") ||
		!strings.Contains(err.Error(), "merging needs every input in time order") {
		t.Fatalf("err %v", err)
	}
	if fmt.Sprint(where) != "[a.jsonl:1 b.jsonl:1 a.jsonl:2 b.jsonl:2]" {
		t.Fatalf("positions %v", where)
	}
}
