package emulator

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/internal/memtest"
)

// chunkedPut is an S3 PUT with an aws-chunked body, as the SDK sends with a trailing checksum
// and STREAMING-UNSIGNED-PAYLOAD-TRAILER.
func chunkedPut(key, body string, decoded int) *http.Request {
	req := httptest.NewRequest(http.MethodPut, "/data/"+key, strings.NewReader(body))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	if decoded >= 0 {
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(decoded))
	}
	return req
}

// s3ErrorCode decodes the code of an S3 XML error body.
func s3ErrorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct {
		Code           string
		MaxSizeAllowed string
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("error body is not S3 XML (%v): %s", err, rec.Body)
	}
	if rec.Header().Get("X-Amz-Request-Id") == "" {
		t.Fatal("no x-amz-request-id")
	}
	return v.Code
}

// PutObject bodies that declare, frame or send more than the emulator keeps are refused with
// S3's own errors, and serving them allocates what arrived, never what was declared (measured
// with runtime/metrics).
func TestS3UploadLimits(t *testing.T) {
	const maxObject = 512 << 20 // above the hostile chunk size below: its data must be read to be refused
	cases := []struct {
		name     string
		opts     Options
		req      func() *http.Request
		status   int
		code     string
		maxAlloc uint64
	}{
		{"huge chunk, no data (issue 15)", Options{MaxObjectSize: maxObject, MaxStoreSize: maxObject},
			func() *http.Request { return chunkedPut("k", "fffffff\r\n"+strings.Repeat("x", 200), -1) },
			400, "IncompleteBody", 1 << 20},
		{"huge chunk over the object limit", Options{},
			func() *http.Request { return chunkedPut("k", "fffffff\r\nabc", -1) }, 400, "EntityTooLarge", 1 << 20},
		{"declared decoded length over the limit", Options{},
			func() *http.Request { return chunkedPut("k", "3\r\nabc\r\n0\r\n\r\n", 5<<30) }, 400, "EntityTooLarge", 1 << 20},
		{"declared Content-Length over the limit", Options{},
			func() *http.Request {
				req := httptest.NewRequest(http.MethodPut, "/data/k", strings.NewReader("abc"))
				req.ContentLength = 5 << 30
				return req
			}, 400, "EntityTooLarge", 1 << 20},
		{"plain body over the limit, no length", Options{MaxObjectSize: 1 << 20},
			func() *http.Request {
				req := httptest.NewRequest(http.MethodPut, "/data/k", io.MultiReader(strings.NewReader(strings.Repeat("y", 2<<20))))
				req.ContentLength = -1
				return req
			}, 400, "EntityTooLarge", 8 << 20},
		{"chunked body over the limit", Options{MaxObjectSize: 64 << 10},
			func() *http.Request {
				chunk := fmt.Sprintf("%x\r\n%s\r\n", 40<<10, strings.Repeat("z", 40<<10))
				return chunkedPut("k", chunk+chunk+"0\r\n\r\n", -1)
			}, 400, "EntityTooLarge", 4 << 20},
		{"over-long chunk header", Options{},
			func() *http.Request {
				return chunkedPut("k", "3;"+strings.Repeat("s", 1<<20)+"\r\nabc\r\n0\r\n\r\n", -1)
			},
			400, "IncompleteBody", 4 << 20},
		{"too many trailers", Options{},
			func() *http.Request {
				return chunkedPut("k", "3\r\nabc\r\n0\r\n"+strings.Repeat("x-amz-meta-a: b\r\n", 100)+"\r\n", -1)
			}, 400, "IncompleteBody", 1 << 20},
		{"body shorter than declared", Options{},
			func() *http.Request { return chunkedPut("k", "3\r\nabc\r\n0\r\n\r\n", 10) }, 400, "IncompleteBody", 1 << 20},
		{"valid chunked body with trailer", Options{},
			func() *http.Request {
				return chunkedPut("k", "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n", 3)
			}, 200, "", 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			req := c.req()
			var rec *httptest.ResponseRecorder
			alloc := memtest.Allocated(func() { rec = serve(e, req) })
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.code != "" {
				if code := s3ErrorCode(t, rec); code != c.code {
					t.Fatalf("code %q, want %q: %s", code, c.code, rec.Body)
				}
			}
			if alloc > c.maxAlloc {
				t.Fatalf("serving it allocated %d KiB, more than %d KiB", alloc>>10, c.maxAlloc>>10)
			}
			if used := e.s3.space.used.Load(); c.status != 200 && used != 0 {
				t.Fatalf("a refused upload left %d bytes reserved in the store", used)
			}
			if used := e.reqMemory.used.Load(); used != 0 {
				t.Fatalf("%d bytes of request memory still held after the request", used)
			}
			t.Logf("%d %s, %d KiB allocated", rec.Code, c.code, alloc>>10)
		})
	}
	// Eight of the hostile PUTs allocated 2.1 GB; now they take what arrived.
	e, _ := New(Options{MaxObjectSize: maxObject, MaxStoreSize: maxObject})
	alloc := memtest.Allocated(func() {
		for i := 0; i < 8; i++ {
			serve(e, chunkedPut("k", "fffffff\r\n"+strings.Repeat("x", 200), -1))
		}
	})
	if alloc > 4<<20 {
		t.Fatalf("8 hostile PUTs allocated %d MiB", alloc>>20)
	}
}

// The store holds at most MaxStoreSize bytes: past it, PutObject answers 507
// InsufficientCapacity through the real SDK client; replacing an object frees the old one's
// bytes (an upload needs room for itself while the object it replaces is still stored), and
// deleting objects makes room again.
func TestS3StoreSizeLimit(t *testing.T) {
	const obj = 250 << 10
	e := start(t, Options{MaxObjectSize: obj, MaxStoreSize: 1 << 20})
	client := s3Client(e)
	ctx := context.Background()
	put := func(key string, n int) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(key),
			Body: bytes.NewReader(bytes.Repeat([]byte{'a'}, n))})
		return err
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := put(k, obj); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	for i := 0; i < 3; i++ { // replacing an object does not grow the store
		if err := put("a", obj); err != nil {
			t.Fatalf("replacing a: %v", err)
		}
	}
	if err := put("d", obj); err != nil {
		t.Fatalf("PutObject d: %v", err)
	}
	if code, status, _ := apiErrorOf(t, put("e", obj)); code != "InsufficientCapacity" || status != 507 {
		t.Fatalf("fifth object: %s %d, want InsufficientCapacity 507", code, status)
	}
	if code, status, _ := apiErrorOf(t, put("f", 2*obj)); code != "EntityTooLarge" || status != 400 {
		t.Fatalf("object over MaxObjectSize: %s %d, want EntityTooLarge 400", code, status)
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	if err := put("e", obj); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	for _, k := range []string{"a", "c", "d", "e"} {
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if used := e.s3.space.used.Load(); used != 0 {
		t.Fatalf("an empty store still counts %d bytes", used)
	}
}

// Non-S3 bodies are bounded too: an awsJson body over its limit is 413
// RequestEntityTooLargeException, and request bodies held at once never exceed
// MaxRequestMemory (past it: the service's internal error, which SDKs retry).
func TestRequestBodyLimits(t *testing.T) {
	e, err := New(Options{MaxRequestMemory: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"TableName":"`+strings.Repeat("t", 100<<10)+`"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	rec := serve(e, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "InternalServerError") {
		t.Fatalf("body over MaxRequestMemory: %d %s", rec.Code, rec.Body)
	}
	e, _ = New(Options{})
	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"TableName":"`+strings.Repeat("t", maxJSONBytes)+`"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	rec = serve(e, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "RequestEntityTooLargeException") {
		t.Fatalf("body over the awsJson limit: %d %s", rec.Code, rec.Body)
	}
	if used := e.reqMemory.used.Load(); used != 0 {
		t.Fatalf("%d bytes of request memory still held", used)
	}
}

func TestLimitOptionsValidated(t *testing.T) {
	for _, o := range []Options{{MaxObjectSize: -1}, {MaxStoreSize: -1}, {MaxConnections: -1}, {MaxObjectSize: 2 << 20, MaxStoreSize: 1 << 20}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
}
