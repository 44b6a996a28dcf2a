package middleware

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithymiddleware "github.com/aws/smithy-go/middleware"
)

// family is one AWS protocol family: a real SDK client of a service that speaks it, one
// operation the emulator answers, and the protocol's error wire format.
type family struct {
	protocol string
	service  string // SDK service ID
	// modeled is an error code the service's SDK deserializes to a modeled type that is neither
	// a throttle nor a transient code ("" when the SDK models no errors, as for EC2).
	modeled string
	// skewCode is the code the service answers a request signed with a skewed clock with.
	skewCode string
	// call makes one call with a client built from cfg. retryer, when not nil, replaces the
	// client's default retryer; wrap wraps the client's final retryer for this call only;
	// apiOptions are added to the call's stack.
	call func(ctx context.Context, cfg aws.Config, retryer aws.Retryer, wrap func(aws.Retryer) aws.Retryer,
		apiOptions ...func(*smithymiddleware.Stack) error) error
	// writeError writes an API error in the protocol's format.
	writeError func(w http.ResponseWriter, status int, code string)
}

// callOptions builds the per-client and per-call option functions for any service's Options:
// every service's Options has Retryer and APIOptions fields, set through these two closures.
func clientOpts(retryer aws.Retryer, setRetryer func(aws.Retryer)) {
	if retryer != nil {
		setRetryer(retryer)
	}
}

var families = []family{
	{
		protocol: "ec2query", service: "EC2", skewCode: "AuthFailure",
		call: func(ctx context.Context, cfg aws.Config, r aws.Retryer, wrap func(aws.Retryer) aws.Retryer, api ...func(*smithymiddleware.Stack) error) error {
			c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { clientOpts(r, func(r aws.Retryer) { o.Retryer = r }) })
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
				Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}},
			}, func(o *ec2.Options) { o.Retryer = wrap(o.Retryer); o.APIOptions = append(o.APIOptions, api...) })
			return err
		},
		writeError: func(w http.ResponseWriter, status int, code string) {
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>test error</Message></Error></Errors><RequestID>5e7f6f4a-0000-4000-8000-000000000001</RequestID></Response>`, code)
		},
	},
	{
		protocol: "awsQuery", service: "STS", modeled: "ExpiredTokenException", skewCode: "SignatureDoesNotMatch",
		call: func(ctx context.Context, cfg aws.Config, r aws.Retryer, wrap func(aws.Retryer) aws.Retryer, api ...func(*smithymiddleware.Stack) error) error {
			c := sts.NewFromConfig(cfg, func(o *sts.Options) { clientOpts(r, func(r aws.Retryer) { o.Retryer = r }) })
			_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{},
				func(o *sts.Options) { o.Retryer = wrap(o.Retryer); o.APIOptions = append(o.APIOptions, api...) })
			return err
		},
		writeError: func(w http.ResponseWriter, status int, code string) {
			w.Header().Set("Content-Type", "text/xml")
			w.Header().Set("X-Amzn-Requestid", "5e7f6f4a-0000-4000-8000-000000000002")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>test error</Message></Error><RequestId>5e7f6f4a-0000-4000-8000-000000000002</RequestId></ErrorResponse>`, code)
		},
	},
	{
		protocol: "restXml", service: "S3", modeled: "NoSuchBucket", skewCode: "RequestTimeTooSkewed",
		call: func(ctx context.Context, cfg aws.Config, r aws.Retryer, wrap func(aws.Retryer) aws.Retryer, api ...func(*smithymiddleware.Stack) error) error {
			c := s3.NewFromConfig(cfg, func(o *s3.Options) {
				o.UsePathStyle = true
				clientOpts(r, func(r aws.Retryer) { o.Retryer = r })
			})
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data")},
				func(o *s3.Options) { o.Retryer = wrap(o.Retryer); o.APIOptions = append(o.APIOptions, api...) })
			return err
		},
		writeError: func(w http.ResponseWriter, status int, code string) {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("X-Amz-Request-Id", "0123456789ABCDEF")
			w.Header().Set("X-Amz-Id-2", "aG9zdA==")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>test error</Message><RequestId>0123456789ABCDEF</RequestId><HostId>aG9zdA==</HostId></Error>`, code)
		},
	},
	{
		protocol: "awsJson1.0", service: "DynamoDB", modeled: "ResourceNotFoundException", skewCode: "InvalidSignatureException",
		call: func(ctx context.Context, cfg aws.Config, r aws.Retryer, wrap func(aws.Retryer) aws.Retryer, api ...func(*smithymiddleware.Stack) error) error {
			c := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { clientOpts(r, func(r aws.Retryer) { o.Retryer = r }) })
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String("orders"),
				Key: map[string]ddbtypes.AttributeValue{
					"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "1"}},
			}, func(o *dynamodb.Options) { o.Retryer = wrap(o.Retryer); o.APIOptions = append(o.APIOptions, api...) })
			return err
		},
		writeError: jsonErrorWriter("1.0", "com.amazonaws.dynamodb.v20120810#"),
	},
	{
		protocol: "awsJson1.1", service: "KMS", modeled: "NotFoundException", skewCode: "InvalidSignatureException",
		call: func(ctx context.Context, cfg aws.Config, r aws.Retryer, wrap func(aws.Retryer) aws.Retryer, api ...func(*smithymiddleware.Stack) error) error {
			c := kms.NewFromConfig(cfg, func(o *kms.Options) { clientOpts(r, func(r aws.Retryer) { o.Retryer = r }) })
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/orders")},
				func(o *kms.Options) { o.Retryer = wrap(o.Retryer); o.APIOptions = append(o.APIOptions, api...) })
			return err
		},
		writeError: jsonErrorWriter("1.1", "TrentService#"),
	},
	{
		protocol: "restJson1", service: "Lambda", modeled: "ResourceNotFoundException", skewCode: "InvalidSignatureException",
		call: func(ctx context.Context, cfg aws.Config, r aws.Retryer, wrap func(aws.Retryer) aws.Retryer, api ...func(*smithymiddleware.Stack) error) error {
			c := lambda.NewFromConfig(cfg, func(o *lambda.Options) { clientOpts(r, func(r aws.Retryer) { o.Retryer = r }) })
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("resize")},
				func(o *lambda.Options) { o.Retryer = wrap(o.Retryer); o.APIOptions = append(o.APIOptions, api...) })
			return err
		},
		writeError: func(w http.ResponseWriter, status int, code string) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-Errortype", code)
			w.Header().Set("X-Amzn-Requestid", "5e7f6f4a-0000-4000-8000-000000000006")
			w.WriteHeader(status)
			io.WriteString(w, `{"Type":"User","message":"test error"}`)
		},
	},
}

// jsonErrorWriter writes an awsJson error: the code as X-Amzn-ErrorType and as the body's __type.
func jsonErrorWriter(version, typePrefix string) func(http.ResponseWriter, int, string) {
	return func(w http.ResponseWriter, status int, code string) {
		w.Header().Set("Content-Type", "application/x-amz-json-"+version)
		w.Header().Set("X-Amzn-Errortype", code)
		w.Header().Set("X-Amzn-Requestid", "5e7f6f4a-0000-4000-8000-000000000004")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":"%s%s","message":"test error"}`, typePrefix, code)
	}
}

// probe wraps the retryer the SDK's retry middleware calls, for one call: it records every
// error the middleware asks about — the exact value the SDK's own retryer would judge, clock-skew
// wrapping included — and passes every question through, except that it makes retry delays
// zero so a catalogue of hundreds of retried calls runs in moments. Zeroing the delay changes
// neither side's verdicts nor attempts.
type probe struct {
	aws.RetryerV2
	mu   sync.Mutex
	errs []error
}

func newProbe(r aws.Retryer) *probe {
	if v2, ok := r.(aws.RetryerV2); ok {
		return &probe{RetryerV2: v2}
	}
	panic(fmt.Sprintf("retryer %T is not an aws.RetryerV2", r))
}

func (p *probe) IsErrorRetryable(err error) bool {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
	return p.RetryerV2.IsErrorRetryable(err)
}

func (p *probe) RetryDelay(attempt int, err error) (time.Duration, error) {
	_, e := p.RetryerV2.RetryDelay(attempt, err)
	return 0, e
}

func (p *probe) seen() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.errs...)
}

// attemptCounter counts the attempts a call sends (Finalize step, right after "Retry").
type attemptCounter struct {
	mu sync.Mutex
	n  int
}

func (*attemptCounter) ID() string { return "test.AttemptCounter" }

func (c *attemptCounter) HandleFinalize(ctx context.Context, in smithymiddleware.FinalizeInput, next smithymiddleware.FinalizeHandler) (
	smithymiddleware.FinalizeOutput, smithymiddleware.Metadata, error,
) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return next.HandleFinalize(ctx, in)
}

func (c *attemptCounter) add(stack *smithymiddleware.Stack) error {
	return stack.Finalize.Insert(c, "Retry", smithymiddleware.After)
}

func (c *attemptCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
