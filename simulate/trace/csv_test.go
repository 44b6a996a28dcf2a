package trace

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCSVReaderSample(t *testing.T) {
	f, err := os.Open("testdata/native/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewCSVReader(f, "sample.csv")
	recs, skipped := readAll(t, r)
	checkRecords(t, recs, []Record{
		{Time: date(2025, 3, 14, 9, 26, 53, 123e6), Service: "S3", Operation: "PutObject", Resource: "my-bucket", Key: `logs/"q".gz`,
			Outcome: OutcomeThrottled, Status: 503, Latency: 12500 * time.Microsecond},
		{Time: date(2025, 3, 14, 9, 26, 54, 0), Service: "S3", Operation: "GetObject", Resource: "my-bucket", Outcome: OutcomeSuccess, Status: 200},
	})
	checkSkipped(t, skipped, []skip{
		{4, "time", ReasonBadTime},
		{5, "status", ReasonBadField},
		{6, "", ReasonMalformedLine},
	})
	if got := r.IgnoredColumns(); !slices.Equal(got, []string{"comment"}) {
		t.Errorf("IgnoredColumns = %q, want [comment]", got)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	recs := append(genRecords(1000, 11), edgeRecords()...)
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), strings.Join(fieldNames[:], ",")+"\n") {
		t.Errorf("header is not the field names: %.100q", buf.String())
	}
	got, skipped := readAll(t, NewCSVReader(&buf, "rt.csv"))
	checkSkipped(t, skipped, nil)
	checkRecords(t, got, recs)
}

func TestCSVHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ input, field, reason string }{
		{"time,service,operation\n2025-03-14T09:26:53Z,EC2,X\n", "outcome", ReasonMissingField},
		{"time,service,operation,outcome,time\n", "time", ReasonMalformedLine},
		{"", "", ReasonMalformedLine},
	} {
		r := NewCSVReader(strings.NewReader(tc.input), "h.csv")
		var rec Record
		err := r.Read(&rec)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tc.field || ie.Reason != tc.reason || ie.Line != 1 {
			t.Errorf("%q: error %v, want line 1 field %q reason %q", tc.input, err, tc.field, tc.reason)
		}
		if err := r.Read(&rec); err != io.EOF {
			t.Errorf("%q: after a bad header: %v, want io.EOF", tc.input, err)
		}
	}
	// A header alone is an empty trace.
	r := NewCSVReader(strings.NewReader("time,service,operation,outcome\n"), "h.csv")
	var rec Record
	if err := r.Read(&rec); err != io.EOF {
		t.Errorf("header only: %v, want io.EOF", err)
	}
}
