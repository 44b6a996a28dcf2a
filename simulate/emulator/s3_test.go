package emulator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var s3RequestIDPattern = regexp.MustCompile(`^[0-9A-F]{16}$`)

func s3Client(e *Emulator) *s3.Client {
	return s3.NewFromConfig(sdkConfig(e, "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true })
}

func TestS3PutGetKeepsBytesExactly(t *testing.T) {
	e := start(t, Options{})
	client := s3Client(e)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := map[string][]byte{
		"empty": {},
		"all-bytes": func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		"dir/sub dir/ünïcode+key?.bin": []byte("\r\n\x00 CRLF and NUL survive\n"),
		"big/3MiB": func() []byte {
			b := make([]byte, 3<<20+7)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}(),
	}
	for key, want := range bodies {
		put, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("data-bucket"), Key: aws.String(key), Body: bytes.NewReader(want),
			ContentType: aws.String("application/x-test"), Metadata: map[string]string{"origin": "test"},
		})
		if err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		if aws.ToString(put.ETag) == "" {
			t.Errorf("PutObject %q: no ETag", key)
		}
		get, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data-bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %q: %v", key, err)
		}
		got, err := io.ReadAll(get.Body)
		get.Body.Close()
		if err != nil {
			t.Fatalf("GetObject %q body: %v", key, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("GetObject %q: %d bytes differ from the %d put", key, len(got), len(want))
		}
		if aws.ToString(get.ETag) != aws.ToString(put.ETag) || aws.ToString(get.ContentType) != "application/x-test" ||
			get.Metadata["origin"] != "test" {
			t.Errorf("GetObject %q: ETag %q (put %q), Content-Type %q, metadata %v", key,
				aws.ToString(get.ETag), aws.ToString(put.ETag), aws.ToString(get.ContentType), get.Metadata)
		}
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data-bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HeadObject %q: %v", key, err)
		}
		if aws.ToInt64(head.ContentLength) != int64(len(want)) || aws.ToString(head.ETag) != aws.ToString(put.ETag) {
			t.Errorf("HeadObject %q: length %d ETag %q, want %d %q", key, aws.ToInt64(head.ContentLength),
				aws.ToString(head.ETag), len(want), aws.ToString(put.ETag))
		}
	}

	// A ranged read returns exactly the bytes asked for.
	get, err := client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String("data-bucket"), Key: aws.String("all-bytes"), Range: aws.String("bytes=10-19"),
	})
	if err != nil {
		t.Fatalf("ranged GetObject: %v", err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, bodies["all-bytes"][10:20]) || aws.ToString(get.ContentRange) != "bytes 10-19/256" {
		t.Errorf("ranged GetObject = %v (%q), want bytes 10..19", got, aws.ToString(get.ContentRange))
	}
}

func TestS3ChecksumIsVerified(t *testing.T) {
	e := start(t, Options{})
	client := s3Client(e)
	ctx := context.Background()
	// The SDK sends a CRC32 header; the emulator checks it, stores it and returns it, and the
	// SDK validates the GetObject body against it.
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("sums"), Key: aws.String("k"), Body: bytes.NewReader([]byte("payload")),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	get, err := client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String("sums"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || string(body) != "payload" {
		t.Fatalf("GetObject body = %q, %v", body, err)
	}
	if aws.ToString(get.ChecksumSHA256) == "" {
		t.Errorf("GetObject returned no SHA256 checksum")
	}
	// A wrong checksum is refused with S3's BadDigest.
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("sums"), Key: aws.String("bad"), Body: bytes.NewReader([]byte("payload")),
		ChecksumCRC32: aws.String("AAAAAA=="),
	})
	if code, status, _ := apiErrorOf(t, err); code != "BadDigest" || status != http.StatusBadRequest {
		t.Errorf("wrong CRC32: (%q, %d), want (BadDigest, 400)", code, status)
	}
}

func TestS3ListAndDelete(t *testing.T) {
	e := start(t, Options{})
	client := s3Client(e)
	ctx := context.Background()
	keys := []string{"logs/2025/a", "logs/2025/b", "logs/2026/c", "logs/top", "other/x", "root"}
	for _, k := range keys {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("list-bucket"), Key: aws.String(k), Body: bytes.NewReader([]byte(k))}); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String("list-bucket"), Prefix: aws.String("logs/"), Delimiter: aws.String("/"),
	})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var gotKeys, gotPrefixes []string
	for _, o := range out.Contents {
		gotKeys = append(gotKeys, aws.ToString(o.Key))
		if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || o.LastModified == nil {
			t.Errorf("object %s: size %d, LastModified %v", aws.ToString(o.Key), aws.ToInt64(o.Size), o.LastModified)
		}
	}
	for _, p := range out.CommonPrefixes {
		gotPrefixes = append(gotPrefixes, aws.ToString(p.Prefix))
	}
	if len(gotKeys) != 1 || gotKeys[0] != "logs/top" || len(gotPrefixes) != 2 || gotPrefixes[0] != "logs/2025/" || gotPrefixes[1] != "logs/2026/" {
		t.Errorf("list logs/ by /: keys %v prefixes %v, want [logs/top] and [logs/2025/ logs/2026/]", gotKeys, gotPrefixes)
	}
	if aws.ToInt32(out.KeyCount) != 3 || aws.ToBool(out.IsTruncated) {
		t.Errorf("KeyCount %d truncated %v, want 3 false", aws.ToInt32(out.KeyCount), aws.ToBool(out.IsTruncated))
	}

	// Pages of two cover every key once, in order.
	var all []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String("list-bucket"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2 page: %v", err)
		}
		for _, o := range page.Contents {
			all = append(all, aws.ToString(o.Key))
		}
	}
	if len(all) != len(keys) {
		t.Fatalf("paginated list = %v, want %v", all, keys)
	}
	for i := range keys {
		if all[i] != keys[i] {
			t.Errorf("paginated list = %v, want %v", all, keys)
			break
		}
	}

	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("list-bucket"), Key: aws.String("root")}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("list-bucket"), Key: aws.String("root")})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject after delete: %v, want *types.NoSuchKey", err)
	}
	_, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("list-bucket"), Key: aws.String("root")})
	if code, status, _ := apiErrorOf(t, err); code != "NotFound" || status != http.StatusNotFound {
		t.Errorf("HeadObject after delete: (%q, %d), want (NotFound, 404)", code, status)
	}
}

// s3IDs returns the request ID and host ID of an S3 error.
func s3IDs(t *testing.T, err error) (requestID, hostID string) {
	t.Helper()
	var re interface {
		ServiceRequestID() string
		ServiceHostID() string
	}
	if !errors.As(err, &re) {
		t.Fatalf("%v: not an S3 response error", err)
	}
	return re.ServiceRequestID(), re.ServiceHostID()
}

// TestS3SlowDownUntilPartitionSplits: a new hot prefix shares its bucket's parent partition
// and gets 503 SlowDown; after sustained overload S3 schedules a split, and once it happens
// the prefix has a partition of its own and the SlowDowns stop. The S3 buckets are shrunk to
// 10 requests per second so the test sends tens of requests, not thousands.
func TestS3SlowDownUntilPartitionSplits(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{
		Clock: clock.Now, PartitionSplitAfter: 3 * time.Second, PartitionSplitDelay: 5 * time.Second,
		Rules: rulesWith(t, `
rules:
  - name: s3-write
    service: S3
    operation: Put*|Copy*|Delete*|Create*
    rate: 10
    burst: 10
    partition: prefix
    scope: shared
    source: test, shrunk from 3,500/s
  - name: s3-read
    service: S3
    operation: Get*|Head*|List*
    rate: 10
    burst: 10
    partition: prefix
    scope: shared
    source: test, shrunk from 5,500/s
`)})
	client := s3Client(e)
	ctx := context.Background()
	put := func(key string) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("hot-bucket"), Key: aws.String(key), Body: bytes.NewReader([]byte("x"))})
		return err
	}
	// Each second: 4 writes to an established prefix and 10 to a new hot one, 14 against the
	// parent partition's 10.
	second := func() (slowDowns int) {
		for i := range 14 {
			key := "hot/obj"
			if i%7 == 0 || i%7 == 3 {
				key = "cold/obj"
			}
			err := put(key)
			if err == nil {
				continue
			}
			code, status, id := apiErrorOf(t, err)
			rid, hid := s3IDs(t, err)
			if code != "SlowDown" || status != http.StatusServiceUnavailable || !s3RequestIDPattern.MatchString(id) || rid != id || hid == "" {
				t.Errorf("throttle = (%q, %d, %q, host %q), want (SlowDown, 503, 16 hex digits, a host ID)", code, status, id, hid)
			}
			slowDowns++
		}
		clock.Advance(time.Second)
		return slowDowns
	}
	var perSecond []int
	for range 12 {
		perSecond = append(perSecond, second())
	}
	// Overload starts at t=0; it has lasted 3 s at t=3, when the split is scheduled for t=8.
	for s, n := range perSecond {
		switch {
		case s <= 7 && n != 4:
			t.Errorf("second %d: %d SlowDowns, want 4 (14 requests against 10 tokens)", s, n)
		case s > 7 && n != 0:
			t.Errorf("second %d: %d SlowDowns, want 0 after the split", s, n)
		}
	}
	if !e.model.Partitions().HasPartition("us-east-1", "hot-bucket", "hot/") {
		t.Errorf("hot/ has no partition of its own after the split")
	}

	// HEAD responses have no body, so the SDK derives the code from the status, as with AWS.
	for range 10 {
		client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hot-bucket"), Key: aws.String("other/k")})
	}
	_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hot-bucket"), Key: aws.String("other/k")})
	code, status, id := apiErrorOf(t, err)
	if code != "ServiceUnavailable" || status != http.StatusServiceUnavailable || !s3RequestIDPattern.MatchString(id) {
		t.Errorf("HEAD throttle = (%q, %d, %q), want (ServiceUnavailable, 503, 16 hex digits)", code, status, id)
	}
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("hot-bucket"), Key: aws.String("other/k")})
	if code := errorCode(err); code != "SlowDown" {
		t.Errorf("GET throttle = %q, want SlowDown", code)
	}
}
