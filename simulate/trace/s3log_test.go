package trace

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// s3SampleRecords are the records of testdata/s3/access.log.
func s3SampleRecords() []Record {
	alice := ClientID("arn:aws:iam::111122223333:user/alice")
	const bucket = "amzn-s3-demo-bucket1"
	return []Record{
		{Time: date(2019, 2, 6, 0, 0, 38, 0), Service: "S3", Operation: "GetObject", Region: "us-west-1", Resource: bucket,
			Key: "photos/2019/08/puppy.jpg", Outcome: OutcomeSuccess, Status: 200, Latency: 21 * time.Millisecond, Client: alice},
		{Time: date(2019, 2, 6, 0, 0, 39, 0), Service: "S3", Operation: "PutObject", Region: "us-west-1", Resource: bucket,
			Key: "logs/a b+c.gz", Outcome: OutcomeThrottled, ErrorCode: "SlowDown", Status: 503, Latency: 5 * time.Millisecond},
		{Time: date(2019, 2, 6, 0, 0, 37, 0), Service: "S3", Operation: "ListObjectsV2", Region: "us-west-1", Resource: bucket,
			Outcome: OutcomeSuccess, Status: 200, Latency: 40 * time.Millisecond, Client: alice},
		{Time: date(2019, 2, 6, 0, 1, 0, 0), Service: "S3", Operation: "CopyObject", Region: "us-west-1", Resource: bucket,
			Key: "dst/key", Outcome: OutcomeSuccess, Status: 200, Latency: 31 * time.Millisecond, Client: alice},
		{Time: date(2019, 2, 6, 0, 1, 1, 0), Service: "S3", Operation: "GetBucketAcl", Region: "us-west-1", Resource: bucket,
			Outcome: OutcomeNonRetryable, ErrorCode: "NoSuchBucketPolicy", Status: 404, Latency: 3 * time.Millisecond, Client: alice},
		{Time: date(2019, 2, 6, 0, 1, 4, 0), Service: "S3", Operation: "REST.GET.FUTURE_THING", Region: "eu-west-1", Resource: bucket,
			Outcome: OutcomeTransient, ErrorCode: "InternalError", Status: 500, Client: alice},
		{Time: date(2019, 2, 6, 0, 1, 6, 0), Service: "S3", Operation: "HeadObject", Region: "us-west-1", Resource: bucket,
			Key: "bad%zzkey", Outcome: OutcomeSuccess, Status: 200, Latency: 2 * time.Millisecond, Client: alice},
	}
}

var s3SampleSkipped = []skip{
	{4, "Operation", ReasonPartOfOtherCall},
	{8, "", ReasonMalformedLine},
	{9, "Time", ReasonBadTime},
	{11, "Operation", ReasonNotAPICall},
	{13, "", ReasonMalformedLine},
}

func TestS3AccessLogSample(t *testing.T) {
	// The plain file, the gzip copy, and the gzip copy under a name that does not say so.
	gz, err := os.ReadFile("testdata/s3/access.log.gz")
	if err != nil {
		t.Fatal(err)
	}
	disguised := filepath.Join(t.TempDir(), "access.txt")
	if err := os.WriteFile(disguised, gz, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"testdata/s3/access.log", "testdata/s3/access.log.gz", disguised} {
		for _, format := range []string{FormatAuto, FormatS3AccessLog} {
			f, err := Open(name, format)
			if err != nil {
				t.Fatal(err)
			}
			if f.Format() != FormatS3AccessLog {
				t.Errorf("%s: format %q, want %q", name, f.Format(), FormatS3AccessLog)
			}
			var warned []*InputError
			f.SetWarn(func(e *InputError) { warned = append(warned, e) })
			recs, skipped := readAll(t, f)
			f.Close()
			checkRecords(t, recs, s3SampleRecords())
			checkSkipped(t, skipped, s3SampleSkipped)
			checkSkipped(t, warned, []skip{{10, "Operation", ReasonUnknownOperation}, {12, "Key", ReasonBadKeyEncoding}})
		}
	}
}

func TestS3AccessLogErrorsNameFileLineField(t *testing.T) {
	f, err := Open("testdata/s3/access.log", FormatS3AccessLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, skipped := readAll(t, f)
	want := `trace: testdata/s3/access.log:9: field "Time": "31/Feb/2019:00:01:03 +0000" is not [dd/Mon/yyyy:HH:MM:SS ±hhmm]`
	if got := skipped[2].Error(); got != want {
		t.Errorf("error = %q\nwant    %q", got, want)
	}
	if got, want := skipped[4].Error(), "trace: testdata/s3/access.log:13: 11 fields, want at least 17"; got != want {
		t.Errorf("error = %q\nwant    %q", got, want)
	}
}

func TestSplitS3Fields(t *testing.T) {
	var tok [s3KnownFields][]byte
	n, err := splitS3Fields([]byte(`a  [b c] "d \"e\" f" "" - "g"h" i`), &tok)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b c", `d \"e\" f`, "", "-", `g"h`, "i"}
	if n != len(want) {
		t.Fatalf("%d fields, want %d", n, len(want))
	}
	for i, w := range want {
		if string(tok[i]) != w {
			t.Errorf("field %d = %q, want %q", i, tok[i], w)
		}
	}
	many := strings.Repeat("x ", s3KnownFields+5)
	if n, _ := splitS3Fields([]byte(many), &tok); n != s3KnownFields+1 {
		t.Errorf("%d fields counted for a long line, want %d (known + 1)", n, s3KnownFields+1)
	}
	if _, err := splitS3Fields([]byte(`a [b c`), &tok); err == nil {
		t.Error("unterminated bracket accepted")
	}
}

func TestRegionFromHost(t *testing.T) {
	for host, want := range map[string]string{
		"bucket.s3.us-west-1.amazonaws.com":                 "us-west-1",
		"s3.dualstack.ap-southeast-2.amazonaws.com":         "ap-southeast-2",
		"bucket.s3-eu-west-1.amazonaws.com":                 "eu-west-1",
		"bucket.s3.amazonaws.com":                           "",
		"bucket.s3-accelerate.amazonaws.com":                "",
		"s3-fips.us-gov-west-1.amazonaws.com":               "us-gov-west-1",
		"my.bucket.with.dots.s3.eu-central-1.amazonaws.com": "eu-central-1",
		"-": "",
	} {
		if got := string(regionFromHost([]byte(host))); got != want {
			t.Errorf("regionFromHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestS3TimeParser(t *testing.T) {
	var tp s3TimeParser
	for s, want := range map[string]time.Time{
		"06/Feb/2019:00:00:38 +0000": date(2019, 2, 6, 0, 0, 38, 0),
		"06/Feb/2019:00:00:59 +0000": date(2019, 2, 6, 0, 0, 59, 0), // same minute: cached path
		"29/Feb/2024:23:59:59 -0130": date(2024, 3, 1, 1, 29, 59, 0),
	} {
		if got, ok := tp.parse([]byte(s)); !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"29/Feb/2019:00:00:00 +0000", "06/Foo/2019:00:00:38 +0000", "06/Feb/2019:00:00:60 +0000", "06/Feb/2019:00:00:38 0000", "06/Feb/2019 00:00:38 +0000"} {
		if got, ok := tp.parse([]byte(s)); ok {
			t.Errorf("%s parsed as %v", s, got)
		}
	}
}

func TestTablesLoad(t *testing.T) {
	tb, err := loadTables()
	if err != nil {
		t.Fatal(err)
	}
	for logOp, want := range map[string]string{"REST.GET.OBJECT": "GetObject", "REST.POST.UPLOADS": "CreateMultipartUpload", "REST.PUT.PART": "UploadPart"} {
		if op, ok := tb.s3Operation([]byte(logOp)); !ok || op.operation != want {
			t.Errorf("%s → %+v, want %s", logOp, op, want)
		}
	}
	if op, ok := tb.s3Operation([]byte("S3.TRANSITION_SIA.OBJECT")); !ok || op.skip != ReasonNotAPICall {
		t.Errorf("S3.* → %+v %v, want skipped as not an API call", op, ok)
	}
	if got := tb.eventSources["ec2.amazonaws.com"]; got != "EC2" {
		t.Errorf("ec2.amazonaws.com → %q", got)
	}
	if err := readTable("bad.csv", []byte("a,source\nx,\n"), []string{"a", "source"}, func([]string) error { return nil }); err == nil {
		t.Error("a row without a source was accepted")
	}
}

// Reading stops at the first fatal error and keeps returning it.
func TestS3AccessLogTruncatedGzip(t *testing.T) {
	gz, err := os.ReadFile("testdata/s3/access.log.gz")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(strings.NewReader(string(gz[:len(gz)-10])), "cut.gz", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	var fatal error
	for range 100 {
		err := f.Read(&rec)
		if err == nil || isInputError(err) {
			continue
		}
		fatal = err
		break
	}
	if fatal == nil || fatal == io.EOF || !strings.Contains(fatal.Error(), "cut.gz") {
		t.Errorf("truncated gzip: %v, want a fatal error naming the file", fatal)
	}
}
