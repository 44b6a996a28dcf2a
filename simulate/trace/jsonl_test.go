package trace

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestReaderSample(t *testing.T) {
	f, err := os.Open("testdata/native/sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, skipped := readAll(t, NewReader(f, "sample.jsonl"))
	checkRecords(t, recs, []Record{
		{Time: date(2025, 3, 14, 9, 26, 53, 123e6), Service: "EC2", Operation: "DescribeInstances", Region: "us-east-1",
			Outcome: OutcomeThrottled, ErrorCode: "RequestLimitExceeded", Status: 503, Latency: 12500 * time.Microsecond, Client: "c1"},
		{Time: date(2025, 3, 14, 9, 26, 53, 5e8), Service: "S3", Operation: "GetObject", Resource: "my-bucket",
			Key: "logs/2025/café \"x\"\\y.gz", Outcome: OutcomeSuccess, Status: 200, Latency: 3 * time.Millisecond},
		{Time: date(2025, 3, 14, 9, 26, 54, 0), Service: "DynamoDB", Operation: "PutItem", Resource: "orders", Outcome: OutcomeSuccess, Units: 2},
		{Time: date(2025, 3, 14, 9, 26, 58, 0), Service: "KMS", Operation: "Decrypt", Outcome: OutcomeTimeout, Latency: 30 * time.Second},
	})
	checkSkipped(t, skipped, []skip{
		{5, "outcome", ReasonBadField},
		{6, "", ReasonMalformedLine},
		{7, "time", ReasonBadTime},
		{8, "status", ReasonBadField},
		{9, "outcome", ReasonMissingField},
	})
	if got, want := skipped[0].Error(), `trace: sample.jsonl:5: field "outcome": "fine" is not an outcome`; !strings.HasPrefix(got, want) {
		t.Errorf("error = %q, want prefix %q", got, want)
	}
	if got, want := skipped[1].Error(), `trace: sample.jsonl:6: column 1: want a JSON object, found 'n'`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestReaderRejects(t *testing.T) {
	for _, tc := range []struct {
		line, field, reason string
	}{
		{`[1,2]`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success"} x`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success"`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success",}`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z" "service":"EC2"}`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"E\qC2","operation":"X","outcome":"success"}`, "", ReasonMalformedLine},
		{"{\"time\":\"2025-03-14T09:26:53Z\",\"service\":\"E\tC2\",\"operation\":\"X\",\"outcome\":\"success\"}", "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","x":[1,}`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","status":01}`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","x":tru}`, "", ReasonMalformedLine},
		{`{"time":"2025-03-14T09:26:53Z","service":{"id":"EC2"},"operation":"X","outcome":"success"}`, "service", ReasonBadField},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","status":503.5}`, "status", ReasonBadField},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","status":1000}`, "status", ReasonBadField},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","units":-1}`, "units", ReasonBadField},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","latency_ms":-0.5}`, "latency_ms", ReasonBadField},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success","latency_ms":1e300}`, "latency_ms", ReasonBadField},
		{`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":1,"outcome":"success"}`, "operation", ReasonBadField},
		{`{"time":"2025-02-29T09:26:53Z","service":"EC2","operation":"X","outcome":"success"}`, "time", ReasonBadTime},
		{`{"time":"2025-03-14T09:26:60Z","service":"EC2","operation":"X","outcome":"success"}`, "time", ReasonBadTime},
		{`{"time":null,"service":"EC2","operation":"X","outcome":"success"}`, "time", ReasonMissingField},
		{`{"time":"2025-03-14T09:26:53Z","service":"","operation":"X","outcome":"success"}`, "service", ReasonMissingField},
		{`{}`, "time", ReasonMissingField},
	} {
		r := NewReader(strings.NewReader(tc.line), "t.jsonl")
		var rec Record
		err := r.Read(&rec)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: error %v, want an *InputError", tc.line, err)
			continue
		}
		if ie.Field != tc.field || ie.Reason != tc.reason || ie.Line != 1 || ie.File != "t.jsonl" {
			t.Errorf("%s: got %v (field %q reason %q), want field %q reason %q", tc.line, ie, ie.Field, ie.Reason, tc.field, tc.reason)
		}
		if err := r.Read(&rec); err != io.EOF {
			t.Errorf("%s: after the bad line: %v, want io.EOF", tc.line, err)
		}
	}
}

// edgeRecords are records that exercise the writer's and reader's corners.
func edgeRecords() []Record {
	return []Record{
		{Time: date(2025, 3, 14, 9, 26, 53, 1), Service: "S3", Operation: "GetObject", Outcome: OutcomeSuccess, Latency: 1},
		{Time: date(1, 1, 1, 0, 0, 0, 999999999), Service: "EC2", Operation: "RunInstances", Outcome: OutcomeNonRetryable, Units: maxUnits, Status: 999},
		{Time: date(9999, 12, 31, 23, 59, 59, 0), Service: "CloudWatch Logs", Operation: "PutLogEvents", Outcome: OutcomeTransient, Latency: time.Duration(1<<62 + 7)},
		{Time: date(2025, 3, 14, 9, 26, 53, 120), Service: "S3", Operation: "PutObject", Resource: "b", Key: "a\"b\\c\n\t\x01\u2028é😀/", Outcome: OutcomeThrottled, ErrorCode: "SlowDown", Client: "p-0123456789ab"},
	}
}

func TestRoundTrip(t *testing.T) {
	recs := append(genRecords(2000, 7), edgeRecords()...)
	data := encodeJSONL(recs)
	got, skipped := readAll(t, NewReader(bytes.NewReader(data), "rt.jsonl"))
	checkSkipped(t, skipped, nil)
	checkRecords(t, got, recs)
	// Writing what was read gives the same bytes.
	if again := encodeJSONL(got); !bytes.Equal(again, data) {
		t.Error("re-encoding the records read back changes the bytes")
	}
}

func TestWriterRefusesInvalidRecords(t *testing.T) {
	ok := Record{Time: date(2025, 3, 14, 9, 26, 53, 0), Service: "EC2", Operation: "X", Outcome: OutcomeSuccess}
	for name, mut := range map[string]func(*Record){
		"time": func(r *Record) { r.Time = time.Time{} }, "service": func(r *Record) { r.Service = "" },
		"operation": func(r *Record) { r.Operation = "" }, "outcome": func(r *Record) { r.Outcome = "ok" },
		"status": func(r *Record) { r.Status = -1 }, "latency_ms": func(r *Record) { r.Latency = -1 },
		"units": func(r *Record) { r.Units = -2 },
	} {
		rec := ok
		mut(&rec)
		err := NewWriter(io.Discard).Write(&rec)
		if err == nil || !strings.Contains(err.Error(), `field "`+name+`"`) {
			t.Errorf("%s: error %v, want one naming the field", name, err)
		}
	}
	if err := NewWriter(io.Discard).Write(&ok); err != nil {
		t.Errorf("valid record: %v", err)
	}
}

func TestReaderLongLine(t *testing.T) {
	good := `{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success"}`
	long := `{"time":"2025-03-14T09:26:53Z","pad":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	input := good + "\n" + long + "\n" + good + "\n"
	recs, skipped := readAll(t, NewReader(strings.NewReader(input), "long.jsonl"))
	if len(recs) != 2 {
		t.Errorf("%d records, want 2", len(recs))
	}
	checkSkipped(t, skipped, []skip{{2, "", ReasonMalformedLine}})
	// Long lines within the limit are read.
	okLong := `{"time":"2025-03-14T09:26:53Z","pad":"` + strings.Repeat("x", 200<<10) + `","service":"EC2","operation":"X","outcome":"success"}`
	recs, skipped = readAll(t, NewReader(strings.NewReader(okLong+"\n"+good), "long.jsonl"))
	if len(recs) != 2 || len(skipped) != 0 {
		t.Errorf("%d records, %d skipped; want 2, 0", len(recs), len(skipped))
	}
}

func TestReaderFatalReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := NewReader(io.MultiReader(strings.NewReader(`{"time":"2025-03-14T09:26:53Z","service":"EC2","operation":"X","outcome":"success"}`+"\n"), errReader{boom}), "f.jsonl")
	var rec Record
	if err := r.Read(&rec); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		err := r.Read(&rec)
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, boom) || re.Line != 1 {
			t.Fatalf("error %v, want a ReadError after line 1 wrapping %v", err, boom)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestParseRFC3339MatchesTimePackage(t *testing.T) {
	for _, s := range []string{
		"2025-03-14T09:26:53Z", "2025-03-14T09:26:53.1Z", "2025-03-14T09:26:53.123456789Z",
		"2025-03-14T09:26:53.000000001+05:30", "2024-02-29T23:59:59-08:00", "0000-01-01T00:00:00Z",
		"2025-03-14T09:26:53+00:00", "9999-12-31T23:59:59.999999999-23:59",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseRFC3339([]byte(s))
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: got %v %v, want %v in UTC", s, got, ok, want)
		}
		var tp timeParser
		for range 2 { // the second parse takes the cached-minute path
			if got, ok := tp.parse([]byte(s)); !ok || !got.Equal(want) {
				t.Errorf("%s (timeParser): got %v %v, want %v", s, got, ok, want)
			}
		}
	}
	for _, s := range []string{
		"2025-03-14T09:26:53", "2025-03-14 09:26:53Z", "2025-13-14T09:26:53Z", "2025-03-32T09:26:53Z",
		"2025-03-14T24:00:00Z", "2025-03-14T09:26:53.Z", "2025-03-14T09:26:53+0530", "2025-03-14T09:26:53Zjunk",
		"2025-03-14T09:26:53+24:00", "２025-03-14T09:26:53Z", "2025-03-14T09:26:5aZ",
	} {
		if got, ok := parseRFC3339([]byte(s)); ok {
			t.Errorf("%s: parsed as %v, want an error", s, got)
		}
	}
}

// TestReaderDoesNotAllocate checks the steady state of Read: strings that recur are shared,
// nothing else is allocated per record. The race detector and coverage add allocations, so it
// skips under them; CI runs it in its pass without -race (.ci/run: go test -run
// 'Alloc|Allocate|Memory').
func TestReaderDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage or the race detector; CI runs this test without -race")
	}
	data := encodeJSONL(genRecords(20000, 3))
	r := NewReader(bytes.NewReader(data), "a.jsonl")
	var rec Record
	for range 10000 { // warm up: fill the string table
		if err := r.Read(&rec); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(5000, func() {
		if err := r.Read(&rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per record, want 0", allocs)
	}
}

// recordStream generates n records in the native format on the fly, so that the input itself
// takes no memory. Every record has a key never seen before: the worst case for the reader's
// string table.
type recordStream struct {
	n, i int
	buf  []byte
	rec  Record
}

func (s *recordStream) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		s.rec.Time = date(2025, 3, 14, 0, 0, 0, 0).Add(time.Duration(s.i) * time.Millisecond)
		s.rec.Service, s.rec.Operation, s.rec.Resource, s.rec.Outcome = "S3", "GetObject", "my-bucket", OutcomeSuccess
		s.rec.Key = "logs/" + time.Duration(s.i).String()
		s.buf = appendJSON(s.buf, &s.rec)
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}

// TestReaderMemoryDoesNotGrow reads a long generated trace and reports the live heap after
// 10% and after all of it: reading must take constant memory.
func TestReaderMemoryDoesNotGrow(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 200_000
	}
	r := NewReader(&recordStream{n: n}, "gen.jsonl")
	var rec Record
	var early, late runtime.MemStats
	for i := range n {
		if err := r.Read(&rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if i == n/10 {
			runtime.GC()
			runtime.ReadMemStats(&early)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&late)
	if err := r.Read(&rec); err != io.EOF {
		t.Fatalf("after %d records: %v, want io.EOF", n, err)
	}
	growth := int64(late.HeapInuse) - int64(early.HeapInuse)
	t.Logf("heap in use after %d records: %d KiB; after %d: %d KiB (growth %d KiB)",
		n/10, early.HeapInuse>>10, n, late.HeapInuse>>10, growth>>10)
	if growth > 2<<20 {
		t.Errorf("heap grew by %d KiB between %d and %d records read", growth>>10, n/10, n)
	}
}
