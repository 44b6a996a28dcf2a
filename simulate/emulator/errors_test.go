package emulator

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestUnknownOperations calls real operations the emulator does not implement through the real
// SDK clients: each gets its protocol's own error, decoded by the SDK.
func TestUnknownOperations(t *testing.T) {
	e := start(t, Options{})
	cfg := sdkConfig(e, "us-east-1")
	ctx := context.Background()
	cases := []struct {
		name, wantCode string
		wantStatus     int
		call           func() error
	}{
		{"EC2 DescribeVolumes", "InvalidAction", 400, func() error {
			_, err := ec2.NewFromConfig(cfg).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
			return err
		}},
		{"S3 GetBucketAcl", "NotImplemented", 501, func() error {
			_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("b-1")})
			return err
		}},
		{"DynamoDB DescribeTable", "UnknownOperationException", 400, func() error {
			_, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
			return err
		}},
		{"KMS ListKeys", "UnknownOperationException", 400, func() error {
			_, err := kms.NewFromConfig(cfg).ListKeys(ctx, &kms.ListKeysInput{})
			return err
		}},
		{"Lambda ListFunctions", "UnknownOperationException", 404, func() error {
			_, err := lambda.NewFromConfig(cfg).ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}},
		{"STS GetSessionToken", "InvalidAction", 400, func() error {
			_, err := sts.NewFromConfig(cfg).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, status, id := apiErrorOf(t, c.call())
			if code != c.wantCode || status != c.wantStatus || id == "" {
				t.Errorf("(%q, %d, %q), want (%q, %d, a request ID)", code, status, id, c.wantCode, c.wantStatus)
			}
		})
	}
}

// TestMalformedRequests sends requests no SDK would (they validate input first) and checks each
// gets its protocol's error: the right status, the code where that protocol puts it, and a
// request ID.
func TestMalformedRequests(t *testing.T) {
	e := start(t, Options{})
	const form = "application/x-www-form-urlencoded"
	cases := []struct {
		name                string
		method, path, ctype string
		target, body        string
		wantStatus          int
		wantCode, wantProto string
	}{
		{"EC2 bad MaxResults", "POST", "/", form, "", "Action=DescribeInstances&Version=2016-11-15&MaxResults=abc", 400, "InvalidParameterValue", "ec2query"},
		{"EC2 missing MaxCount", "POST", "/", form, "", "Action=RunInstances&Version=2016-11-15&MinCount=1&ImageId=ami-1", 400, "MissingParameter", "ec2query"},
		{"EC2 bad list index", "POST", "/", form, "", "Action=TerminateInstances&Version=2016-11-15&InstanceId.x=i-1", 400, "InvalidParameterValue", "ec2query"},
		{"EC2 unknown filter", "POST", "/", form, "", "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=bogus&Filter.1.Value.1=x", 400, "InvalidParameterValue", "ec2query"},
		{"EC2 bad form encoding", "POST", "/", form, "", "Action=%zz&Version=2016-11-15", 400, "MalformedQueryString", "ec2query"},
		{"EC2 no Action", "POST", "/", form, "", "Version=2016-11-15", 400, "MissingAction", "ec2query"},
		{"EC2 unknown action", "POST", "/", form, "", "Action=Frobnicate&Version=2016-11-15", 400, "InvalidAction", "ec2query"},
		{"STS no Action", "POST", "/", form, "", "Version=2011-06-15", 400, "MissingAction", "awsQuery"},
		{"DynamoDB truncated JSON", "POST", "/", "application/x-amz-json-1.0", "DynamoDB_20120810.GetItem", `{"TableName":`, 400, "SerializationException", "awsJson"},
		{"DynamoDB bad attribute", "POST", "/", "application/x-amz-json-1.0", "DynamoDB_20120810.PutItem", `{"TableName":"orders","Item":{"pk":{"X":"1"}}}`, 400, "ValidationException", "awsJson"},
		{"DynamoDB bad table name", "POST", "/", "application/x-amz-json-1.0", "DynamoDB_20120810.Query", `{"TableName":"a b"}`, 400, "ValidationException", "awsJson"},
		{"DynamoDB bad key condition", "POST", "/", "application/x-amz-json-1.0", "DynamoDB_20120810.Query", `{"TableName":"orders","KeyConditionExpression":"pk = :p AND AND"}`, 400, "ValidationException", "awsJson"},
		{"KMS no KeyId", "POST", "/", "application/x-amz-json-1.1", "TrentService.Encrypt", `{}`, 400, "ValidationException", "awsJson"},
		{"KMS body is a list", "POST", "/", "application/x-amz-json-1.1", "TrentService.Decrypt", `[1,2]`, 400, "SerializationException", "awsJson"},
		{"KMS bad base64", "POST", "/", "application/x-amz-json-1.1", "TrentService.Decrypt", `{"CiphertextBlob":"!!"}`, 400, "SerializationException", "awsJson"},
		{"unknown JSON service", "POST", "/", "application/x-amz-json-1.1", "Frobnicator_20200101.Go", `{}`, 400, "UnknownOperationException", "awsJson"},
		{"Lambda payload not JSON", "POST", "/2015-03-31/functions/f/invocations", "application/json", "", `not json`, 400, "InvalidRequestContentException", "restJson"},
		{"Lambda bad function name", "GET", "/2015-03-31/functions/bad%20name", "", "", ``, 400, "InvalidParameterValueException", "restJson"},
		{"S3 bad bucket name", "PUT", "/AB/key", "", "", `x`, 400, "InvalidBucketName", "restXml"},
		{"S3 bad max-keys", "GET", "/bucket-1?list-type=2&max-keys=-1", "", "", ``, 400, "InvalidArgument", "restXml"},
		{"S3 bad query encoding", "GET", "/bucket-1?list-type=2&prefix=%%%", "", "", ``, 400, "InvalidArgument", "restXml"},
		{"S3 bad continuation token", "GET", "/bucket-1?list-type=2&continuation-token=bm9wZQ", "", "", ``, 400, "InvalidArgument", "restXml"},
		{"S3 bad aws-chunked body", "PUT", "/bucket-1/k", "", "STREAMING", "zz\r\n", 400, "IncompleteBody", "restXml"},
		{"S3 method", "PATCH", "/bucket-1/k", "", "", ``, 405, "MethodNotAllowed", "restXml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, e.URL()+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.target == "STREAMING" {
				req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
			} else if c.target != "" {
				req.Header.Set("X-Amz-Target", c.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			code, bodyID, headerID := protocolError(t, c.wantProto, resp, body)
			if resp.StatusCode != c.wantStatus || code != c.wantCode {
				t.Errorf("got %d %q, want %d %q; body %s", resp.StatusCode, code, c.wantStatus, c.wantCode, body)
			}
			if headerID == "" || bodyID != "" && bodyID != headerID {
				t.Errorf("request IDs: header %q, body %q", headerID, bodyID)
			}
		})
	}
}

// protocolError extracts the error code and request IDs where each protocol puts them.
func protocolError(t *testing.T, proto string, resp *http.Response, body []byte) (code, bodyID, headerID string) {
	t.Helper()
	switch proto {
	case "ec2query":
		var v struct {
			Code      string `xml:"Errors>Error>Code"`
			RequestID string `xml:"RequestID"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			t.Fatalf("ec2query error body %q: %v", body, err)
		}
		return v.Code, v.RequestID, resp.Header.Get("X-Amzn-Requestid")
	case "awsQuery":
		var v struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Code      string   `xml:"Error>Code"`
			RequestID string   `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			t.Fatalf("awsQuery error body %q: %v", body, err)
		}
		return v.Code, v.RequestID, resp.Header.Get("X-Amzn-Requestid")
	case "restXml":
		var v struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string   `xml:"Code"`
			RequestID string   `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			t.Fatalf("restXml error body %q: %v", body, err)
		}
		return v.Code, v.RequestID, resp.Header.Get("X-Amz-Request-Id")
	default: // awsJson and restJson: the code is in X-Amzn-ErrorType (and __type for awsJson)
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s error body %q: %v", proto, body, err)
		}
		code := resp.Header.Get("X-Amzn-Errortype")
		if proto == "awsJson" {
			typ, _ := v["__type"].(string)
			if _, after, ok := strings.Cut(typ, "#"); ok {
				typ = after
			}
			if typ != code {
				t.Errorf("__type %q disagrees with X-Amzn-ErrorType %q", typ, code)
			}
		}
		return code, "", resp.Header.Get("X-Amzn-Requestid")
	}
}
