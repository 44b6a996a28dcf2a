package emulator

import (
	"encoding/json"
	"encoding/xml"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets feed arbitrary requests to the handler and check that every answer is a
// well-formed response of the addressed protocol: a status code, a request ID, and for errors
// a body from which an SDK decodes a non-empty code. Seeds live in testdata/fuzz/FuzzXxx/.

func fuzzEmulator(f *testing.F) *Emulator {
	e, err := New(Options{Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	return e
}

func serve(e *Emulator, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func checkStatus(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code < 200 || rec.Code > 599 {
		t.Fatalf("status %d", rec.Code)
	}
}

// FuzzEC2Query sends form-encoded bodies (EC2 and STS, told apart by Version).
func FuzzEC2Query(f *testing.F) {
	e := fuzzEmulator(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := serve(e, req)
		checkStatus(t, rec)
		if rec.Header().Get("X-Amzn-Requestid") == "" {
			t.Fatalf("no request ID")
		}
		if rec.Code < 300 {
			var v struct{ XMLName xml.Name }
			if err := xml.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("success body is not XML: %v\n%s", err, rec.Body)
			}
			return
		}
		var v struct {
			XMLName xml.Name
			EC2Code string `xml:"Errors>Error>Code"`
			STSCode string `xml:"Error>Code"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.EC2Code == "" && v.STSCode == "" {
			t.Fatalf("error body without a code (%v): %s", err, rec.Body)
		}
	})
}

// FuzzJSONTarget sends awsJson requests: any X-Amz-Target, any body.
func FuzzJSONTarget(f *testing.F) {
	e := fuzzEmulator(f)
	f.Fuzz(func(t *testing.T, target, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", target)
		rec := serve(e, req)
		checkStatus(t, rec)
		if req.Header.Get("X-Amz-Target") == "" {
			return // not an awsJson request once the header is empty
		}
		if rec.Header().Get("X-Amzn-Requestid") == "" {
			t.Fatalf("no request ID")
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body is not JSON: %s", rec.Body)
		}
		if strings.HasPrefix(target, dynamoDBTargetPrefix) {
			want := strconv.FormatUint(uint64(crc32.ChecksumIEEE(rec.Body.Bytes())), 10)
			if got := rec.Header().Get("X-Amz-Crc32"); got != want {
				t.Fatalf("x-amz-crc32 %q, want %q", got, want)
			}
		}
		if rec.Code >= 300 && rec.Header().Get("X-Amzn-Errortype") == "" {
			t.Fatalf("error %d without X-Amzn-ErrorType: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzS3Request sends any method, path, query and body to the S3 handler.
func FuzzS3Request(f *testing.F) {
	e := fuzzEmulator(f)
	methods := []string{"GET", "PUT", "HEAD", "DELETE", "POST", "PATCH"}
	f.Fuzz(func(t *testing.T, method uint8, path, query, body string, chunked bool) {
		req := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(body))
		req.Method = methods[int(method)%len(methods)]
		req.URL.Path = "/" + strings.TrimPrefix(path, "/")
		req.URL.RawQuery = query
		if req.URL.Path == "/metrics" || strings.HasPrefix(req.URL.Path, lambdaPathPrefix) {
			return // other handlers
		}
		if chunked {
			req.Header.Set("Content-Encoding", "aws-chunked")
		}
		rec := serve(e, req)
		checkStatus(t, rec)
		if rec.Header().Get("X-Amz-Request-Id") == "" || rec.Header().Get("X-Amz-Id-2") == "" {
			t.Fatalf("no request IDs")
		}
		if rec.Code >= 300 && rec.Code != http.StatusNotModified && req.Method != http.MethodHead {
			var v struct {
				XMLName xml.Name `xml:"Error"`
				Code    string   `xml:"Code"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.Code == "" {
				t.Fatalf("error body without a code (%v): %s", err, rec.Body)
			}
		}
	})
}

// FuzzLambdaRequest sends any method, function path and payload to the Lambda handler.
func FuzzLambdaRequest(f *testing.F) {
	e := fuzzEmulator(f)
	f.Fuzz(func(t *testing.T, post bool, rest, invocationType, body string) {
		req := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(body))
		if post {
			req.Method = http.MethodPost
		}
		req.URL.Path = lambdaPathPrefix + "/" + rest
		req.Header.Set("X-Amz-Invocation-Type", invocationType)
		rec := serve(e, req)
		checkStatus(t, rec)
		if rec.Code >= 300 && rec.Header().Get("X-Amzn-Errortype") == "" {
			t.Fatalf("error %d without X-Amzn-ErrorType: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzKeyConditionExpression checks the DynamoDB expression parsers never panic and that what
// they accept has one or two conditions on resolved names.
func FuzzKeyConditionExpression(f *testing.F) {
	f.Fuzz(func(t *testing.T, expr string) {
		names := map[string]string{"#p": "pk", "#s": "sk"}
		values := map[string]json.RawMessage{":p": json.RawMessage(`{"S":"a"}`), ":n": json.RawMessage(`{"N":"1"}`)}
		conds, err := parseKeyConditionExpression(expr, names, values)
		if err == nil {
			if len(conds) == 0 || len(conds) > 2 {
				t.Fatalf("%q: %d conditions", expr, len(conds))
			}
			for _, c := range conds {
				if c.name == "" || strings.HasPrefix(c.name, "#") || len(c.values) == 0 {
					t.Fatalf("%q: unresolved condition %+v", expr, c)
				}
			}
			keyQuery(DefaultTableSchema, expr, names, values)
		}
		parseProjectionExpression(expr, names)
		parseCondition(expr, names)
	})
}
