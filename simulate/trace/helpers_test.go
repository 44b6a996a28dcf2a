package trace

import (
	"errors"
	"io"
	"testing"
	"time"
)

// readAll reads src to the end, returning its records and the input it skipped. A fatal error
// fails the test.
func readAll(t testing.TB, src Source) ([]Record, []*InputError) {
	t.Helper()
	var recs []Record
	var skipped []*InputError
	for n := 0; ; n++ {
		if n > 10_000_000 {
			t.Fatal("source does not end")
		}
		var rec Record
		err := src.Read(&rec)
		if err == io.EOF {
			return recs, skipped
		}
		var ie *InputError
		if errors.As(err, &ie) {
			skipped = append(skipped, ie)
			continue
		}
		if err != nil {
			t.Fatalf("fatal error: %v", err)
		}
		recs = append(recs, rec)
	}
}

// at returns a UTC time on 2025-03-14 (or the given day of February 2019 when day < 0 is
// not needed: tests use explicit dates through date).
func date(y int, m time.Month, d, h, min, s, ns int) time.Time {
	return time.Date(y, m, d, h, min, s, ns, time.UTC)
}

// skip describes an expected skipped input.
type skip struct {
	line   int64
	field  string
	reason string
}

func checkSkipped(t *testing.T, got []*InputError, want []skip) {
	t.Helper()
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("skipped: %v (reason %q)", e, e.Reason)
		}
		t.Fatalf("%d inputs skipped, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || g.Field != w.field || g.Reason != w.reason {
			t.Errorf("skipped[%d] = line %d field %q reason %q (%v), want line %d field %q reason %q",
				i, g.Line, g.Field, g.Reason, g, w.line, w.field, w.reason)
		}
	}
}

func checkRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("got %+v", r)
		}
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("record %d: time %v, want %v", i, got[i].Time, want[i].Time)
		}
		g, w := got[i], want[i]
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func isInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
