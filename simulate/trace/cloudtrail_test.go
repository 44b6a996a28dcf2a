package trace

import (
	"os"
	"strings"
	"testing"
)

const ctDir = "testdata/cloudtrail/AWSLogs/111122223333/CloudTrail"

func TestCloudTrailFile(t *testing.T) {
	name := ctDir + "/us-east-2/2025/03/14/111122223333_CloudTrail_us-east-2_20250314T0930Z_a1b2c3d4e5f6a7b8.json"
	f, err := Open(name, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format() != FormatCloudTrail {
		t.Fatalf("format %q, want %q", f.Format(), FormatCloudTrail)
	}
	worker := ClientID("arn:aws:sts::111122223333:assumed-role/worker/i-0abc")
	recs, skipped := readAll(t, f)
	// File order, not time order: the importer sorts.
	checkRecords(t, recs, []Record{
		{Time: date(2025, 3, 14, 9, 26, 55, 0), Service: "EC2", Operation: "DescribeInstances", Region: "us-east-2",
			Outcome: OutcomeThrottled, ErrorCode: "RequestLimitExceeded", Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 53, 0), Service: "EC2", Operation: "RunInstances", Region: "us-east-2",
			Outcome: OutcomeSuccess, Units: 3, Client: worker},
		{Time: date(2025, 3, 14, 9, 26, 54, 0), Service: "KMS", Operation: "Decrypt", Region: "us-east-2",
			Outcome: OutcomeThrottled, ErrorCode: "ThrottlingException", Client: worker},
	})
	checkSkipped(t, skipped, []skip{{95, "eventType", ReasonNotAPICall}, {107, "", ReasonMalformedRecord}})
	if got := skipped[1].Error(); !strings.HasPrefix(got, "trace: "+name+":107: record 5: json: cannot unmarshal number") {
		t.Errorf("error = %q", got)
	}
}

func TestCloudTrailMalformedFiles(t *testing.T) {
	rec := `{"eventTime":"2025-03-14T09:26:53Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}`
	for _, tc := range []struct {
		name, input string
		records     int
		skipped     []skip
	}{
		{"empty", "", 0, []skip{{1, "", ReasonUnrecognizedFile}}},
		{"array", "[" + rec + "]", 0, []skip{{1, "", ReasonUnrecognizedFile}}},
		{"no records", `{"foo":[1,2,{"a":"]"}]}`, 0, []skip{{1, "", ReasonUnrecognizedFile}}},
		{"digest", `{"awsAccountId":"1","digestStartTime":"x"}`, 0, []skip{{1, "", ReasonDigestFile}}},
		{"empty records", `{"Records":[]}`, 0, nil},
		{"records null", `{"Records":null}`, 0, []skip{{1, "", ReasonUnrecognizedFile}}},
		{"other keys around", `{"a":{"Records":[1]},"Records":[` + rec + `],"b":"c"}`, 1, nil},
		{"truncated", `{"Records":[` + rec + `,` + rec[:30], 1, []skip{{1, "", ReasonMalformedRecord}}},
		{"element not an object", "{\"Records\":[\n1,\n" + rec + "]}", 1, []skip{{2, "", ReasonMalformedRecord}}},
		{"bad JSON inside a record", "{\"Records\":[\n{\"eventTime\" 1},\n" + rec + "]}", 1, []skip{{2, "", ReasonMalformedRecord}}},
		{"mismatched bracket", `{"Records":[{"a":[}],` + rec + `]}`, 0, []skip{{1, "", ReasonMalformedRecord}}},
		{"missing eventName", `{"Records":[{"eventTime":"2025-03-14T09:26:53Z","eventSource":"sts.amazonaws.com"}]}`, 0, []skip{{1, "eventName", ReasonMissingField}}},
		{"bad time", `{"Records":[{"eventTime":"yesterday","eventSource":"sts.amazonaws.com","eventName":"X"}]}`, 0, []skip{{1, "eventTime", ReasonBadTime}}},
		{"trailing garbage", `{"Records":[` + rec + `]} x`, 1, []skip{{1, "", ReasonMalformedRecord}}},
		{"newline in string", "{\"Records\":[{\"a\":\"x\ny\"}]}", 0, []skip{{2, "", ReasonMalformedRecord}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, skipped := readAll(t, NewCloudTrailReader(strings.NewReader(tc.input), "ct.json"))
			if len(recs) != tc.records {
				t.Errorf("%d records, want %d", len(recs), tc.records)
			}
			checkSkipped(t, skipped, tc.skipped)
		})
	}
}

// CloudTrail delivers each log file on one line: errors name the record within the line, so
// that "line 1" is never all a user learns.
func TestCloudTrailErrorsNameTheRecord(t *testing.T) {
	ok := `{"eventTime":"2025-03-14T09:26:53Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}`
	input := `{"Records":[` + ok + `,` + ok + `,{"eventTime":"yesterday","eventSource":"sts.amazonaws.com","eventName":"X"},` + ok +
		`,{"eventTime":"0001-01-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"X"},7]}`
	recs, skipped := readAll(t, NewCloudTrailReader(strings.NewReader(input), "ct.json"))
	if len(recs) != 3 || len(skipped) != 3 {
		t.Fatalf("%d records, %d skipped; want 3 and 3", len(recs), len(skipped))
	}
	for i, want := range []string{
		`trace: ct.json:1: record 3: field "eventTime": "yesterday" is not an RFC 3339 time`,
		`trace: ct.json:1: record 5: field "eventTime": "0001-01-01T00:00:00Z" is the zero time 0001-01-01T00:00:00Z, which stands for a missing time`,
		`trace: ct.json:1: record 6: record is not a JSON object (starts with '7')`,
	} {
		if got := skipped[i].Error(); got != want {
			t.Errorf("skipped[%d] = %s\nwant         %s", i, got, want)
		}
	}
}

func TestCloudTrailOperationNames(t *testing.T) {
	for in, want := range map[string]string{
		"UpdateFunctionCode20150331v2": "UpdateFunctionCode", "ListFunctions20150331": "ListFunctions",
		"Invoke": "Invoke", "GetFunction20150331v2": "GetFunction",
	} {
		if got := operationName("Lambda", in); got != want {
			t.Errorf("operationName(Lambda, %q) = %q, want %q", in, got, want)
		}
	}
	if got := operationName("EC2", "Describe20150331"); got != "Describe20150331" {
		t.Errorf("non-Lambda names must stay: got %q", got)
	}
}

func TestDetectFormat(t *testing.T) {
	s3, err := os.ReadFile("testdata/s3/access.log")
	if err != nil {
		t.Fatal(err)
	}
	for head, want := range map[string]string{
		"":                                       FormatJSONL,
		"  \n{\"Records\":[]}":                   FormatCloudTrail,
		`{"awsAccountId":"1"}`:                   FormatCloudTrail,
		`{"time":"2025-03-14T09:26:53Z"}`:        FormatJSONL,
		"time,service,operation,outcome\n":       FormatCSV,
		"\"time\",service,operation,outcome,x\n": FormatCSV,
		"time,service,operation\n":               "",
		string(s3):                               FormatS3AccessLog,
		"hello world\n":                          "",
	} {
		if got := DetectFormat([]byte(head)); got != want {
			t.Errorf("DetectFormat(%.40q) = %q, want %q", head, got, want)
		}
	}
}
