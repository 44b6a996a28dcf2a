package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func importBytes(t *testing.T, im Importer, inputs ...string) ([]byte, Report) {
	t.Helper()
	var out bytes.Buffer
	rep, err := im.Import(context.Background(), inputs, &out)
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), rep
}

func issue(rep Report, reason string) Issue {
	for _, is := range rep.Issues {
		if is.Reason == reason {
			return is
		}
	}
	return Issue{}
}

type wantIssue struct {
	reason string
	kept   bool
	count  int64
	first  string
}

func checkIssues(t *testing.T, rep Report, want []wantIssue) {
	t.Helper()
	if len(rep.Issues) != len(want) {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("%d issues, want %d:\n%s", len(rep.Issues), len(want), b.String())
	}
	for _, w := range want {
		is := issue(rep, w.reason)
		if is.Kept != w.kept || is.Count != w.count || is.First != w.first {
			t.Errorf("issue %q = %+v, want kept %v count %d first %s", w.reason, is, w.kept, w.count, w.first)
		}
	}
}

func TestImportS3AccessLog(t *testing.T) {
	out, rep := importBytes(t, Importer{}, "testdata/s3/access.log")
	recs, skipped := readAll(t, NewReader(bytes.NewReader(out), "out"))
	checkSkipped(t, skipped, nil)
	want := s3SampleRecords()
	// Sorted by time: the ListObjectsV2 at :37 comes first.
	want = append([]Record{want[2]}, append(want[:2:2], want[3:]...)...)
	checkRecords(t, recs, want)
	if rep.Written != int64(len(want)) || rep.Files[FormatS3AccessLog] != 1 || rep.Skipped() != 5 {
		t.Errorf("report %+v", rep)
	}
	f := "testdata/s3/access.log:"
	checkIssues(t, rep, []wantIssue{
		{ReasonBadKeyEncoding, true, 1, f + "12"},
		{ReasonBadTime, false, 1, f + "9"},
		{ReasonMalformedLine, false, 2, f + "8"},
		{ReasonNotAPICall, false, 1, f + "11"},
		{ReasonPartOfOtherCall, false, 1, f + "4"},
		{ReasonUnknownOperation, true, 1, f + "10"},
	})
}

func TestImportCloudTrailTree(t *testing.T) {
	out, rep := importBytes(t, Importer{}, "testdata/cloudtrail")
	recs, _ := readAll(t, NewReader(bytes.NewReader(out), "out"))
	worker := ClientID("arn:aws:sts::111122223333:assumed-role/worker/i-0abc")
	checkRecords(t, recs, []Record{
		{Time: date(2025, 3, 14, 9, 26, 50, 0), Service: "newservice", Operation: "DoThing", Region: "us-east-1", Outcome: OutcomeSuccess, Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 51, 0), Service: "DynamoDB", Operation: "PutItem", Region: "us-east-2", Resource: "orders",
			Outcome: OutcomeThrottled, ErrorCode: "ProvisionedThroughputExceededException", Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 52, 0), Service: "STS", Operation: "GetCallerIdentity", Region: "us-east-2", Outcome: OutcomeSuccess,
			Client: ClientID("arn:aws:iam::111122223333:user/alice")},
		{Time: date(2025, 3, 14, 9, 26, 52, 5e8), Service: "S3", Operation: "PutObject", Region: "us-east-2", Resource: "amzn-s3-demo-bucket1",
			Key: "logs/2025/a.gz", Outcome: OutcomeThrottled, ErrorCode: "SlowDown", Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 53, 0), Service: "EC2", Operation: "RunInstances", Region: "us-east-2", Outcome: OutcomeSuccess, Units: 3, Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 54, 0), Service: "KMS", Operation: "Decrypt", Region: "us-east-2", Outcome: OutcomeThrottled, ErrorCode: "ThrottlingException", Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 55, 0), Service: "EC2", Operation: "DescribeInstances", Region: "us-east-2",
			Outcome: OutcomeThrottled, ErrorCode: "RequestLimitExceeded", Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 57, 0), Service: "Lambda", Operation: "UpdateFunctionCode", Region: "us-east-1", Resource: "resize-images",
			Outcome: OutcomeThrottled, ErrorCode: "TooManyRequestsException", Client: worker},
	})
	if rep.Files[FormatCloudTrail] != 4 || rep.Written != 8 {
		t.Errorf("report %+v", rep)
	}
	a := ctDir + "/us-east-2/2025/03/14/111122223333_CloudTrail_us-east-2_20250314T0930Z_a1b2c3d4e5f6a7b8.json:"
	c := ctDir + "/us-east-1/2025/03/14/111122223333_CloudTrail_us-east-1_20250314T0930Z_c1b2c3d4e5f6a7b8.json:1"
	digest := "testdata/cloudtrail/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2025/03/14/111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20250314T093000Z.json.gz:1"
	checkIssues(t, rep, []wantIssue{
		{ReasonDigestFile, false, 1, digest},
		{ReasonMalformedRecord, false, 1, a + "107"},
		{ReasonMissingField, false, 1, c},
		{ReasonNotAPICall, false, 1, a + "95"},
		{ReasonUnknownService, true, 1, c},
	})
}

// TestImportDeterministic imports every sample at once with several chunk sizes (in memory,
// spilled, merged in two passes): the output and the report must not change.
func TestImportDeterministic(t *testing.T) {
	inputs := []string{"testdata/s3", "testdata/cloudtrail", "testdata/native"}
	first, rep := importBytes(t, Importer{}, inputs...)
	// access.log and its gzip copy, the CloudTrail tree, sample.jsonl and sample.csv.
	if want := int64(7 + 7 + 8 + 4 + 2); rep.Written != want {
		t.Errorf("%d records written, want %d", rep.Written, want)
	}
	var b1 strings.Builder
	rep.WriteText(&b1)
	for _, chunk := range []int{1, 3, 1000} {
		out, rep := importBytes(t, Importer{ChunkSize: chunk, TempDir: t.TempDir()}, inputs...)
		if !bytes.Equal(out, first) {
			t.Errorf("chunk size %d: output differs", chunk)
		}
		var b strings.Builder
		rep.WriteText(&b)
		if b.String() != b1.String() {
			t.Errorf("chunk size %d: report differs:\n%s\nvs\n%s", chunk, b.String(), b1.String())
		}
	}
	// The output is a valid, time-ordered trace.
	recs, skipped := readAll(t, NewReader(bytes.NewReader(first), "out"))
	checkSkipped(t, skipped, nil)
	for i := 1; i < len(recs); i++ {
		if recs[i].Time.Before(recs[i-1].Time) {
			t.Fatalf("record %d is earlier than record %d", i, i-1)
		}
	}
}

func TestImportForcedFormat(t *testing.T) {
	// A CloudTrail file read as the native format: each line is a bad record, none is lost.
	_, rep := importBytes(t, Importer{Format: FormatJSONL}, "testdata/native/sample.csv")
	if rep.Written != 0 || issue(rep, ReasonMalformedLine).Count != 6 {
		t.Errorf("report %+v, want 6 malformed lines", rep)
	}
}

func TestImportUnrecognizedAndUnreadable(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.txt")
	if err := os.WriteFile(junk, []byte("hello world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badgz := filepath.Join(dir, "bad.gz")
	if err := os.WriteFile(badgz, []byte{0x1f, 0x8b, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".hidden"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, rep := importBytes(t, Importer{}, dir)
	checkIssues(t, rep, []wantIssue{
		{ReasonUnreadableFile, false, 1, badgz},
		{ReasonUnrecognizedFile, false, 1, junk + ":1"},
	})
}

func TestImportFailures(t *testing.T) {
	var out bytes.Buffer
	if _, err := Import(context.Background(), []string{"testdata/nope"}, FormatAuto, &out); err == nil || !strings.Contains(err.Error(), "testdata/nope") {
		t.Errorf("missing input: %v", err)
	}
	if _, err := Import(context.Background(), []string{"testdata/s3"}, "xml", &out); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Import(context.Background(), nil, FormatAuto, &out); err == nil {
		t.Error("no inputs accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Import(ctx, []string{"testdata/s3"}, FormatAuto, &out); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	boom := errors.New("disk full")
	if _, err := Import(context.Background(), []string{"testdata/s3/access.log"}, FormatAuto, failWriter{boom}); !errors.Is(err, boom) {
		t.Errorf("failing output: %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// A zero time (0001-01-01T00:00:00Z, what a log writes for a missing time) is a bad time at its
// file, line and field in every format, skipped and counted: it never ends the import.
func TestImportZeroTime(t *testing.T) {
	dir := t.TempDir()
	s3, err := os.ReadFile("testdata/s3/access.log")
	if err != nil {
		t.Fatal(err)
	}
	s3Lines := strings.SplitAfter(string(s3), "\n")
	zeroS3 := strings.Replace(s3Lines[0], "[06/Feb/2019:00:00:38 +0000]", "[01/Jan/0001:00:00:00 +0000]", 1)
	ct := `{"eventTime":"2025-03-14T09:26:53Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}`
	files := map[string]struct {
		data, field string
		line        int
	}{
		"zero.jsonl": {`{"time":"2025-01-01T00:00:00Z","service":"EC2","operation":"DescribeInstances","outcome":"success"}` + "\n" +
			`{"time":"0001-01-01T00:00:00Z","service":"EC2","operation":"DescribeInstances","outcome":"success"}` + "\n", "time", 2},
		"zero.csv": {"time,service,operation,outcome\n2025-01-01T00:00:00Z,EC2,DescribeInstances,success\n" +
			"0001-01-01T00:00:00Z,EC2,DescribeInstances,success\n", "time", 3},
		"zero.log":  {s3Lines[1] + zeroS3, "Time", 2},
		"zero.json": {"{\"Records\":[\n" + ct + ",\n" + strings.Replace(ct, "2025-03-14T09:26:53Z", "0001-01-01T00:00:00Z", 1) + "]}", "eventTime", 3},
	}
	for name, f := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		rep, err := Import(context.Background(), []string{path}, FormatAuto, &out)
		if err != nil {
			t.Errorf("%s: the import stopped: %v", name, err)
			continue
		}
		is := issue(rep, ReasonBadTime)
		if rep.Written != 1 || is.Count != 1 || is.First != fmt.Sprintf("%s:%d", path, f.line) ||
			!strings.Contains(is.FirstError, `field "`+f.field+`"`) || !strings.Contains(is.FirstError, "zero time") ||
			strings.Count(is.FirstError, "trace:") != 1 {
			t.Errorf("%s: %d written, bad time %+v", name, rep.Written, is)
		}
	}
}

// Merging more temporary files than it opens at once takes passes over every record; a
// cancelled context stops them.
func TestSorterSortedContextStops(t *testing.T) {
	s := NewSorter(t.TempDir(), 2)
	defer s.Close()
	rec := Record{Time: date(2025, 1, 1, 0, 0, 0, 0), Service: "EC2", Operation: "DescribeInstances", Outcome: OutcomeSuccess}
	for i := range (maxFanIn + 1) * 2 {
		rec.Time = rec.Time.Add(time.Duration(i%7) * time.Millisecond)
		if err := s.Add(&rec); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.SortedContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("SortedContext with a cancelled context: %v", err)
	}
}
