package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

// Start an emulator in-process and point the real SDK clients at it.
func Example() {
	ctx := context.Background()
	e, err := emulator.New(emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Start(ctx); err != nil { // 127.0.0.1, a free port
		log.Fatal(err)
	}
	defer e.Close()

	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(e.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		log.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("my-bucket"), Key: aws.String("hello.txt"), Body: bytes.NewReader([]byte("hello, emulator")),
	}); err != nil {
		log.Fatal(err)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("my-bucket"), Key: aws.String("hello.txt")})
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	fmt.Println(string(body))

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(id.Account))
	// Output:
	// hello, emulator
	// 123456789012
}

// Shrink a quota with a rule that replaces the default of the same name, and watch the real
// client get AWS's throttling error.
func ExampleOptions_rules() {
	ctx := context.Background()
	override, err := limiter.ParseRules("rules.yaml", []byte(`
rules:
  - name: sts-demo          # AWS publishes no STS quota; add one
    service: STS
    rate: 0.001             # one token per 1,000 s
    burst: 2
    source: example
`))
	if err != nil {
		log.Fatal(err)
	}
	e, err := emulator.New(emulator.Options{Rules: server.MergeRules(limiter.DefaultRules(), override)})
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	client := sts.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(e.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} }, // show every throttle
	})
	for range 3 {
		_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		var ae smithy.APIError
		if errors.As(err, &ae) {
			fmt.Println(ae.ErrorCode())
		} else {
			fmt.Println("ok")
		}
	}
	// Output:
	// ok
	// ok
	// Throttling
}
