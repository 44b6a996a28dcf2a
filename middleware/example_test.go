package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// startEmulator serves a throttling AWS emulator on a loopback port; the examples point the
// real SDK clients at it instead of AWS.
func startEmulator(ctx context.Context) *emulator.Emulator {
	e, err := emulator.New(emulator.Options{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		log.Fatal(err)
	}
	return e
}

// Install tollgate in every client made from a config: one option for LoadDefaultConfig. Each
// attempt then takes a token from its API's bucket (AWS's published quotas) and retries use
// tollgate's backoff and budget.
func ExampleWithTollgate() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := startEmulator(ctx)
	defer emu.Close()

	tg, err := middleware.New(middleware.Config{Limiter: limiter.New(limiter.DefaultRules())})
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		middleware.WithTollgate(tg),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(emu.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		log.Fatal(err)
	}
	client := ec2.NewFromConfig(cfg)
	// 150 filtered DescribeInstances: EC2's bucket holds 100 and refills 20/s, so tollgate spaces
	// the last 50 out over 2.5 s instead of letting AWS throttle them.
	start := time.Now()
	failed := 0
	for i := 0; i < 150; i++ {
		if _, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}); err != nil {
			failed++
		}
	}
	fmt.Printf("150 calls, %d failed, took at least 2.4s: %v\n", failed, time.Since(start) >= 2400*time.Millisecond)
	// Output:
	// 150 calls, 0 failed, took at least 2.4s: true
}

// Install tollgate in one client only: its retryer and its middleware.
func ExampleTollgate_AddToStack() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := startEmulator(ctx)
	defer emu.Close()

	tg, err := middleware.New(middleware.Config{
		Policy: backoff.Policy{MaxAttempts: 5, Budget: backoff.NewRatioBudget(backoff.RatioBudgetConfig{})},
	})
	if err != nil {
		log.Fatal(err)
	}
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(emu.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.Retryer = tg.NewRetryer()
		o.APIOptions = append(o.APIOptions, tg.AddToStack)
	})
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String("orders"),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "order-1"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "v1"}},
	})
	fmt.Println("PutItem:", err)
	// Output:
	// PutItem: <nil>
}

// A client-side refusal — here the limiter cannot admit the call before its deadline — reaches
// the caller as a typed error under the SDK's OperationError.
func ExampleTollgate_AddToStack_refusal() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := startEmulator(ctx)
	defer emu.Close()

	rules, err := limiter.ParseRules("rules.yaml", []byte(`
rules:
  - name: s3-put-slow
    service: S3
    operation: PutObject
    rate: 1
    burst: 1
    partition: prefix
    source: example
`))
	if err != nil {
		log.Fatal(err)
	}
	tg, _ := middleware.New(middleware.Config{Limiter: limiter.New(rules)})
	client := s3.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(emu.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *s3.Options) {
		o.UsePathStyle = true
		o.Retryer = tg.NewRetryer()
		o.APIOptions = append(o.APIOptions, tg.AddToStack)
	})
	client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")})
	put := func(ctx context.Context) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("hot/a")})
		return err
	}
	fmt.Println("first:", put(ctx))
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	err = put(short)
	var refused *limiter.RefusedError
	fmt.Println("second refused by rule:", errors.As(err, &refused) && refused.Rule == "s3-put-slow", refused.Reason)
	// Output:
	// first: <nil>
	// second refused by rule: true deadline
}

// Raw HTTP — S3 presigned URLs, hand-signed calls — goes through the same policies with the
// RoundTripper.
func ExampleTollgate_NewRoundTripper() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := startEmulator(ctx)
	defer emu.Close()

	tg, _ := middleware.New(middleware.Config{Limiter: limiter.New(limiter.DefaultRules())})
	httpClient := &http.Client{Transport: tg.NewRoundTripper(http.DefaultTransport, nil)}

	s3c := s3.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(emu.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *s3.Options) { o.UsePathStyle = true })
	s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")})
	presigned, err := s3.NewPresignClient(s3c).PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String("data"), Key: aws.String("missing"),
	})
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, presigned.Method, presigned.URL, nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode) // NoSuchKey is not retried
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	// Output:
	// 404
}
