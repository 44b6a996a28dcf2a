package middleware

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func TestPrefixScheme(t *testing.T) {
	cases := []struct {
		scheme PrefixScheme
		key    string
		want   string
	}{
		{PrefixScheme{Segments: 1}, "logs/2026/a.gz", "logs/"},
		{PrefixScheme{Segments: 2}, "logs/2026/a.gz", "logs/2026/"},
		{PrefixScheme{Segments: 3}, "logs/2026/a.gz", "logs/2026/a.gz"},
		{PrefixScheme{Segments: 1}, "flat-key", "flat-key"},
		{PrefixScheme{Chars: 4}, "abcdef", "abcd"},
		{PrefixScheme{Chars: 10}, "abc", "abc"},
		{PrefixScheme{}, "abc", ""},
	}
	for _, c := range cases {
		if got := c.scheme.Prefix(c.key); got != c.want {
			t.Errorf("%+v.Prefix(%q) = %q, want %q", c.scheme, c.key, got, c.want)
		}
	}
}

// Kinesis and SQS inputs are read by field name; these mirror their shapes without importing
// the service modules (which tollgate does not depend on).
type kinesisPutRecordInput struct {
	Data       []byte
	StreamName *string
	StreamARN  *string
}
type sqsSendMessageInput struct {
	QueueUrl    *string
	MessageBody *string
}

func TestBuiltinPartitioner(t *testing.T) {
	p := &builtinPartitioner{scheme: PrefixScheme{Segments: 2}}
	cases := []struct {
		service string
		input   any
		want    Partition
	}{
		{"S3", &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("logs/2026/11/a.gz")}, Partition{"data", "logs/2026/"}},
		{"S3", &s3.ListObjectsV2Input{Bucket: aws.String("data")}, Partition{Resource: "data"}},
		{"DynamoDB", &dynamodb.GetItemInput{TableName: aws.String("orders")}, Partition{Resource: "orders"}},
		{"Lambda", &lambda.InvokeInput{FunctionName: aws.String("resize")}, Partition{Resource: "resize"}},
		{"Kinesis", &kinesisPutRecordInput{StreamName: aws.String("clicks")}, Partition{Resource: "clicks"}},
		{"Kinesis", &kinesisPutRecordInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:1:stream/x")}, Partition{Resource: "arn:aws:kinesis:us-east-1:1:stream/x"}},
		{"SQS", &sqsSendMessageInput{QueueUrl: aws.String("https://sqs/1/q")}, Partition{Resource: "https://sqs/1/q"}},
		{"EC2", &ec2.DescribeInstancesInput{}, Partition{}},
		{"S3", (*s3.GetObjectInput)(nil), Partition{}},
		{"S3", nil, Partition{}},
		{"S3", "not a pointer", Partition{}},
	}
	for _, c := range cases {
		if got := p.partition(c.service, "Op", c.input); got != c.want {
			t.Errorf("%s %T: %+v, want %+v", c.service, c.input, got, c.want)
		}
	}
	in := &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("img/1.png")}
	if n := testing.AllocsPerRun(100, func() { p.partition("S3", "PutObject", in) }); n != 0 {
		t.Errorf("partition allocates %v times per call", n)
	}
}

func TestCustomPartitionerWins(t *testing.T) {
	tg := mustNew(t, Config{Partitioners: []Partitioner{func(service, op string, in any) Partition {
		if in, ok := in.(*s3.GetObjectInput); ok && in.Bucket != nil && *in.Bucket == "tenant-a" {
			return Partition{Resource: "tenant-a", Prefix: "all"}
		}
		return Partition{}
	}}})
	if got := tg.partition("S3", "GetObject", &s3.GetObjectInput{Bucket: aws.String("tenant-a"), Key: aws.String("x/y")}); got.Prefix != "all" {
		t.Errorf("custom partitioner ignored: %+v", got)
	}
	if got := tg.partition("S3", "GetObject", &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("x/y")}); got != (Partition{"b", "x/"}) {
		t.Errorf("fallback to the built-in partitioner: %+v", got)
	}
}

// EC2's unfiltered, unpaginated Describe calls draw from the 50/10 bucket; filtered or paginated
// ones from the 100/20 bucket.
func TestEC2UnfilteredOperation(t *testing.T) {
	cases := []struct {
		op    string
		input any
		want  string
	}{
		{"DescribeInstances", &ec2.DescribeInstancesInput{}, "DescribeInstances" + limiter.UnfilteredSuffix},
		{"DescribeInstances", &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:team")}}}, "DescribeInstances"},
		{"DescribeInstances", &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}, "DescribeInstances"},
		{"DescribeInstances", &ec2.DescribeInstancesInput{NextToken: aws.String("t")}, "DescribeInstances"},
		{"DescribeInstances", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-1"}}, "DescribeInstances"},
		{"DescribeVolumes", &ec2.DescribeVolumesInput{}, "DescribeVolumes" + limiter.UnfilteredSuffix},
		{"DescribeImages", &ec2.DescribeImagesInput{}, "DescribeImages"}, // no separate bucket
	}
	for _, c := range cases {
		if got := limiterOperation("EC2", c.op, c.input); got != c.want {
			t.Errorf("%s %+v: %q, want %q", c.op, c.input, got, c.want)
		}
	}
	if got := limiterOperation("S3", "GetObject", &s3.GetObjectInput{}); got != "GetObject" {
		t.Errorf("non-EC2 operation renamed: %q", got)
	}
	if n := unitsOf("EC2", "RunInstances", &ec2.RunInstancesInput{MaxCount: aws.Int32(250)}); n != 250 {
		t.Errorf("RunInstances units = %d, want MaxCount 250", n)
	}
}

// Each S3 key prefix gets its own client-side bucket: a hot prefix waits, a cold one does not.
func TestS3PrefixesGetTheirOwnBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4})
		hc := newHandlerClient(emu)
		lim := limiter.New(mustRules(t, `
rules:
  - name: s3-put-per-prefix
    service: S3
    operation: PutObject
    rate: 10
    burst: 5
    partition: prefix
    source: test
`))
		tg := mustNew(t, Config{Limiter: lim, Seed: 1})
		client := s3Client(tg, "http://emulator.test", hc)
		ctx := context.Background()
		client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")})
		put := func(key string) {
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(key),
				Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 5; i++ {
			put(fmt.Sprintf("hot/%d", i)) // drains hot/'s burst of 5
		}
		start := timeNow()
		put("cold/0")
		if d := timeNow().Sub(start); d != 0 {
			t.Errorf("a cold prefix waited %v behind the hot one", d)
		}
		start = timeNow()
		put("hot/5")
		if d := timeNow().Sub(start); d < 90_000_000 || d > 110_000_000 {
			t.Errorf("the sixth PUT on the hot prefix waited %v, want ≈100ms (10/s)", d)
		}
		if lim.Keys() != 2 {
			t.Errorf("%d limiter keys, want 2 (hot/, cold/)", lim.Keys())
		}
	})
}

// Events carry the SDK's operation name even when the limiter key uses a variant, and a call
// the limiter refused before sending counts no attempt.
func TestEventsUseSDKOperationNames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4})
		rec := &recorder{}
		lim := limiter.New(limiter.DefaultRules())
		tg := mustNew(t, Config{Limiter: lim, Seed: 1, Observer: rec})
		client := ec2.NewFromConfig(awsConfig("http://emulator.test", newHandlerClient(emu)), func(o *ec2.Options) {
			o.Retryer = tg.NewRetryer()
			o.APIOptions = append(o.APIOptions, tg.AddToStack)
		})
		if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatal(err)
		}
		for _, e := range rec.events {
			if e.Operation != "DescribeInstances" {
				t.Errorf("%v event has operation %q", e.Kind, e.Operation)
			}
		}
		// The unfiltered call drew from the 50-token bucket.
		if avail, burst, _ := lim.Tokens(time.Now(), limiter.Key{Region: "us-east-1", Service: "EC2",
			Operation: "DescribeInstances" + limiter.UnfilteredSuffix}); burst != 50 || avail != 49 {
			t.Errorf("unfiltered bucket: %v of %d tokens, want 49 of 50", avail, burst)
		}
		// Drain the 50 tokens, then refuse at once with a deadline: no attempt is counted.
		for i := 0; i < 49; i++ {
			client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err == nil {
			t.Fatal("the 51st unfiltered call in one instant was admitted")
		}
		// The refusal names the SDK operation; the limiter's variant, which chose the bucket,
		// has its own field.
		var refused *limiter.RefusedError
		if !errors.As(err, &refused) || refused.Operation != "DescribeInstances" || refused.Variant != "unfiltered" ||
			refused.Rule != "ec2-unfiltered-describe" {
			t.Errorf("refusal %#v, want operation DescribeInstances, variant unfiltered, rule ec2-unfiltered-describe", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "EC2 DescribeInstances (unfiltered)") || strings.Contains(msg, ":unfiltered") {
			t.Errorf("message %q", msg)
		}
		if lr := rec.kinds(event.LimiterRefused); len(lr) != 1 || lr[0].Operation != "DescribeInstances" || lr[0].Rule != refused.Rule {
			t.Errorf("LimiterRefused events %+v", lr)
		}
		calls := rec.kinds(event.CallFinished)
		if last := calls[len(calls)-1]; last.Attempts != 0 || last.Reason != "deadline" {
			t.Errorf("refused call: %+v, want 0 attempts, reason deadline", last)
		}
	})
}
