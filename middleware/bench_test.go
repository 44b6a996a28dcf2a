package middleware

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tollgate/tollgate/limiter"
)

// okClient answers every request with an empty DynamoDB GetItem result, in process: what is
// measured is the SDK's stack and tollgate's part in it, not a network.
type okClient struct{}

func (okClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"bench"}},
		Body:   io.NopCloser(strings.NewReader(`{}`)), ContentLength: 2, Request: req,
	}, nil
}

var benchInput = &dynamodb.GetItemInput{
	TableName: aws.String("orders"),
	Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}},
}

func benchGetItem(b *testing.B, client *dynamodb.Client) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.GetItem(ctx, benchInput); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSDKCallBaseline: DynamoDB GetItem through the real client with the SDK's default
// retryer, answered in process.
func BenchmarkSDKCallBaseline(b *testing.B) {
	benchGetItem(b, dynamodb.NewFromConfig(awsConfig("http://bench.test", okClient{})))
}

// BenchmarkSDKCallTollgate: the same call with tollgate installed — the default policy and budget
// and a limiter with AWS's default rules (DynamoDB: 40,000 reads/s per table, never waited on here).
func BenchmarkSDKCallTollgate(b *testing.B) {
	tg, err := New(Config{Limiter: limiter.New(limiter.DefaultRules()), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	benchGetItem(b, dynamodb.NewFromConfig(awsConfig("http://bench.test", okClient{}), func(o *dynamodb.Options) {
		o.Retryer = tg.NewRetryer()
		o.APIOptions = append(o.APIOptions, tg.AddToStack)
	}))
}
