package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

// readFuzz reads src like readAll, but at most limit calls, and checks that every record is
// valid, every skip names a line within the input, and no error is fatal except a ReadError.
func readFuzz(t *testing.T, src Source, lines int64, limit int) []Record {
	t.Helper()
	var recs []Record
	for range limit {
		var rec Record
		err := src.Read(&rec)
		if err == io.EOF {
			return recs
		}
		var ie *InputError
		if errors.As(err, &ie) {
			if ie.Line < 0 || ie.Line > lines+1 || ie.Reason == "" || !strings.HasPrefix(ie.Error(), "trace: ") {
				t.Fatalf("bad InputError: %v (line %d of %d, reason %q)", ie, ie.Line, lines, ie.Reason)
			}
			continue
		}
		if err != nil {
			t.Fatalf("fatal error reading in-memory input: %v", err)
		}
		if err := rec.Validate(); err != nil {
			t.Fatalf("reader returned an invalid record %+v: %v", rec, err)
		}
		recs = append(recs, rec)
	}
	t.Fatalf("reader did not finish within %d reads", limit)
	return nil
}

// checkNativeRoundTrip writes recs in the native format and reads them back unchanged.
func checkNativeRoundTrip(t *testing.T, recs []Record) {
	t.Helper()
	back := readFuzz(t, NewReader(bytes.NewReader(encodeJSONL(recs)), "rt"), int64(len(recs)), len(recs)+2)
	if len(back) != len(recs) {
		t.Fatalf("%d records read back, want %d", len(back), len(recs))
	}
	for i := range recs {
		a, b := recs[i], back[i]
		if !a.Time.Equal(b.Time) {
			t.Fatalf("record %d: time %v read back as %v", i, a.Time, b.Time)
		}
		a.Time, b.Time = time.Time{}, time.Time{}
		if a != b {
			t.Fatalf("record %d changed in a round trip:\n%+v\n%+v", i, a, b)
		}
	}
}

func lineCount(data []byte) int64 { return int64(bytes.Count(data, []byte("\n"))) + 1 }

// FuzzNativeReader checks the native reader against encoding/json line by line: what it
// accepts is valid JSON with the same values; valid JSON objects it refuses are refused for a
// named field; and what it reads survives a write and a read.
func FuzzNativeReader(f *testing.F) {
	f.Add([]byte(`{"time":"2025-03-14T09:26:53.123Z","service":"EC2","operation":"DescribeInstances","region":"us-east-1","outcome":"throttled","error_code":"RequestLimitExceeded","status":503,"latency_ms":12.5,"units":1,"client":"c1"}`))
	f.Add([]byte(`{"outcome":"success","operation":"Get\u004fbject","service":"S3","time":"2025-03-14T10:26:53+01:00","key":"a\ud83d\ude00\ud800b","x":[{"y":null}],"status":null}`))
	f.Add([]byte("{\"time\":\"2025-03-14T09:26:53Z\",\"service\":\"EC2\",\"operation\":\"X\",\"outcome\":\"success\",\"latency_ms\":1e3}\n\n[1]\n{\"time\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := readFuzz(t, NewReader(bytes.NewReader(data), "fuzz"), lineCount(data), 1<<20)
		checkNativeRoundTrip(t, recs)
		for _, line := range bytes.Split(data, []byte("\n")) {
			line = trimLine(line)
			if len(line) == 0 || len(line) > MaxLineBytes {
				continue
			}
			r := NewReader(bytes.NewReader(line), "line")
			var rec Record
			err := r.Read(&rec)
			checkSameAsGeneral(t, line, &rec, err)
			var m map[string]any
			jerr := json.Unmarshal(line, &m)
			if err == nil {
				if jerr != nil {
					t.Fatalf("accepted %q, which encoding/json refuses: %v", line, jerr)
				}
				compareWithJSON(t, line, &rec, m)
				continue
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("%q: fatal error %v", line, err)
			}
			if jerr == nil && ie.Field == "" {
				t.Fatalf("refused %q as malformed (%v), but it is a JSON object", line, err)
			}
		}
	})
}

// compareWithJSON checks rec against the same line decoded by encoding/json.
func compareWithJSON(t *testing.T, line []byte, rec *Record, m map[string]any) {
	t.Helper()
	str := func(name string) string {
		s, _ := m[name].(string)
		return s
	}
	num := func(name string) float64 {
		n, _ := m[name].(float64)
		return n
	}
	for name, got := range map[string]string{
		"service": rec.Service, "operation": rec.Operation, "region": rec.Region, "resource": rec.Resource,
		"key": rec.Key, "outcome": string(rec.Outcome), "error_code": rec.ErrorCode, "client": rec.Client,
	} {
		if want := str(name); got != want {
			t.Fatalf("%q: field %s = %q, encoding/json says %q", line, name, got, want)
		}
	}
	if want, err := time.Parse(time.RFC3339Nano, str("time")); err == nil && !want.Equal(rec.Time) {
		t.Fatalf("%q: time = %v, time.Parse says %v", line, rec.Time, want)
	}
	if float64(rec.Status) != num("status") || float64(rec.Units) != num("units") {
		t.Fatalf("%q: status %d units %d, encoding/json says %v %v", line, rec.Status, rec.Units, m["status"], m["units"])
	}
	if want := num("latency_ms") * 1e6; math.Abs(float64(rec.Latency)-want) > math.Max(1, want*1e-15) {
		t.Fatalf("%q: latency %d ns, encoding/json says %v ms", line, rec.Latency, m["latency_ms"])
	}
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("outcome,time,service,operation,comment,status,latency_ms,key\nthrottled,2025-03-14T09:26:53.123Z,S3,PutObject,\"a, b\",503,12.5,\"k\"\"q\"\n"))
	f.Add([]byte("time,service,operation,outcome,units\n2025-03-14T09:26:53Z,EC2,RunInstances,success,3\nbad,row\n"))
	f.Add([]byte("time,service,operation,outcome\n\"2025-03-14T09:26:53Z\nx\",EC2,X,success\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := readFuzz(t, NewCSVReader(bytes.NewReader(data), "fuzz.csv"), lineCount(data), 1<<20)
		checkNativeRoundTrip(t, recs)
		// And through CSV again.
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
		back := readFuzz(t, NewCSVReader(&buf, "rt.csv"), lineCount(buf.Bytes()), len(recs)+2)
		if len(back) != len(recs) {
			t.Fatalf("%d records after a CSV round trip, want %d", len(back), len(recs))
		}
	})
}

func FuzzS3AccessLog(f *testing.F) {
	f.Add([]byte(`79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-west-1 extra "more"`))
	f.Add([]byte(`o b [06/Feb/2019:00:00:39 +0000] ip - id REST.PUT.OBJECT k%2F%zz "PUT /k HTTP/1.1" 503 SlowDown - - 5 4 "-" "ua \"x\"" -` + "\n" + `o b [x] ip - id S3.EXPIRE.OBJECT k - - - - - - - "-" "-"`))
	f.Add([]byte(`o b [06/Feb/2019:00:00:39 -0130] ip r id REST.GET.BUCKET - "GET /?list-type=2 HTTP/1.1" 200 - - - - - "-" "-" - h SigV4 c AuthHeader b.s3-eu-west-1.amazonaws.com TLSv1.3`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewS3AccessLogReader(bytes.NewReader(data), "fuzz.log")
		r.Warn = func(e *InputError) {
			if e.Reason != ReasonUnknownOperation && e.Reason != ReasonBadKeyEncoding {
				t.Fatalf("unexpected warning %v", e)
			}
		}
		recs := readFuzz(t, r, lineCount(data), 1<<20)
		for _, rec := range recs {
			if rec.Service != "S3" || rec.Resource == "" {
				t.Fatalf("record without service or bucket: %+v", rec)
			}
		}
		checkNativeRoundTrip(t, recs)
	})
}

func FuzzCloudTrail(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},"eventTime":"2025-03-14T09:26:53Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-2","errorCode":"Client.RequestLimitExceeded","requestParameters":{"instancesSet":{"items":[{"minCount":1,"maxCount":5}]}},"eventType":"AwsApiCall"}]}`))
	f.Add([]byte("{\"Records\":[\n{\"eventTime\":\"2025-03-14T09:26:53Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"requestParameters\":{\"bucketName\":\"b\",\"key\":\"k\"}},\n1,{\"eventType\":\"AwsServiceEvent\"},{\"a\":[}\n]}"))
	f.Add([]byte(`{"awsAccountId":"1","digestStartTime":"2025-03-14T08:30:00Z"}`))
	f.Add([]byte(`{"Records":[{"eventTime":"2025-03-14T09:26:53Z","eventSource":"dynamodb.amazonaws.com","eventName":"PutItem","requestParameters":{"tableName":"t","key":{"id":{"S":"1"}}}}],"x":{"y":"\"]}"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := readFuzz(t, NewCloudTrailReader(bytes.NewReader(data), "fuzz.json"), lineCount(data), 1<<20)
		checkNativeRoundTrip(t, recs)
		// Every record encoding/json finds in a well-formed file is either read or skipped
		// with a reason; none vanishes.
		var file struct {
			Records []json.RawMessage
		}
		if keys, ok := topLevelKeys(data); !ok || len(keys) != 1 || keys[0] != "Records" || json.Unmarshal(data, &file) != nil || file.Records == nil {
			return
		}
		n := int64(0)
		src := NewCloudTrailReader(bytes.NewReader(data), "fuzz.json")
		for {
			var rec Record
			err := src.Read(&rec)
			if err == io.EOF {
				break
			}
			n++
		}
		if n != int64(len(file.Records)) {
			t.Fatalf("%d records read or skipped, encoding/json finds %d", n, len(file.Records))
		}
	})
}

// topLevelKeys lists the keys of the JSON object in data, in order, duplicates included.
func topLevelKeys(data []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
	}
	return keys, true
}
