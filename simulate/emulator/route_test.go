package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func authorization(service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKIDTEST/20250314/eu-west-2/" + service +
		"/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd"
}

// TestRouting checks which service answers requests of each shape, by the metrics label
// the request is counted under.
func TestRouting(t *testing.T) {
	for _, c := range []struct {
		name, method, path, auth, target, ctype, body string
		wantService, wantOp                           string
	}{
		{"EC2 by Version", "POST", "/", "", "", "application/x-www-form-urlencoded", "Action=DescribeInstances&Version=2016-11-15", "EC2", "DescribeInstances"},
		{"STS by Version", "POST", "/", "", "", "application/x-www-form-urlencoded", "Action=GetCallerIdentity&Version=2011-06-15", "STS", "GetCallerIdentity"},
		{"STS by scope", "POST", "/", authorization("sts"), "", "application/x-www-form-urlencoded; charset=utf-8", "Action=GetCallerIdentity", "STS", "GetCallerIdentity"},
		{"form without Version", "POST", "/", "", "", "application/x-www-form-urlencoded", "Action=DescribeInstances", "EC2", "DescribeInstances"},
		{"DynamoDB target", "POST", "/", "", "DynamoDB_20120810.GetItem", "application/x-amz-json-1.0", `{"TableName":"orders","Key":{"pk":{"S":"a"},"sk":{"S":"b"}}}`, "DynamoDB", "GetItem"},
		{"KMS target", "POST", "/", "", "TrentService.DescribeKey", "application/x-amz-json-1.1", `{"KeyId":"alias/a"}`, "KMS", "DescribeKey"},
		{"Lambda path", "GET", "/2015-03-31/functions/f", "", "", "", "", "Lambda", "GetFunction"},
		{"S3 bucket named like Lambda's API version", "GET", "/2015-03-31/functions", authorization("s3"), "", "", "", "S3", "GetObject"},
		{"S3 object", "PUT", "/bucket-1/a/b", authorization("s3"), "", "", "x", "S3", "PutObject"},
		{"S3 without auth", "GET", "/bucket-1?list-type=2", "", "", "", "", "S3", "ListObjectsV2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			for k, v := range map[string]string{"Authorization": c.auth, "X-Amz-Target": c.target, "Content-Type": c.ctype} {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			mfs, err := e.Gatherer().Gather()
			if err != nil || len(mfs) != 1 || len(mfs[0].Metric) != 1 {
				t.Fatalf("want one counted request, got %v (%v)", mfs, err)
			}
			labels := map[string]string{}
			for _, l := range mfs[0].Metric[0].Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["aws_service"] != c.wantService || labels["operation"] != c.wantOp {
				t.Errorf("counted as %v, want %s %s (status %d, body %s)", labels, c.wantService, c.wantOp, rec.Code, rec.Body)
			}
			if rec.Code >= 500 {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestCredentialScopeRegion(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", authorization("ec2"))
	if s := parseCredentialScope(req); s.region != "eu-west-2" || s.service != "ec2" || s.accessKey != "AKIDTEST" {
		t.Errorf("scope = %+v", s)
	}
	presigned := httptest.NewRequest(http.MethodGet, "/b/k?X-Amz-Credential=AKID%2F20250314%2Fap-south-1%2Fs3%2Faws4_request", nil)
	if s := parseCredentialScope(presigned); s.region != "ap-south-1" || s.service != "s3" {
		t.Errorf("presigned scope = %+v", s)
	}
	bad := httptest.NewRequest(http.MethodGet, "/", nil)
	bad.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20250314/../../etc/ec2/aws4_request")
	if s := parseCredentialScope(bad); s.region != "" {
		t.Errorf("malformed scope gave region %q", s.region)
	}
}
