package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
)

func TestServiceRetryDefaultsTable(t *testing.T) {
	rows := ServiceRetryDefaults()
	if len(rows) == 0 {
		t.Fatal("empty table")
	}
	for _, r := range rows {
		if r.Source == "" || r.MaxAttempts < 1 || r.TransientBase <= 0 {
			t.Errorf("row %+v", r)
		}
	}
	bad := []struct{ data, want string }{
		{"service,max,transient_base,source\n", `x.csv:1: header`},
		{"service,max_attempts,transient_base,source\nDynamoDB,four,25ms,src\n", `x.csv:2: field "max_attempts": "four"`},
		{"service,max_attempts,transient_base,source\nDynamoDB,4,25,src\n", `x.csv:2: field "transient_base": "25"`},
		{"service,max_attempts,transient_base,source\nDynamoDB,4,25ms,\n", `x.csv:2: field "source": empty`},
		{"service,max_attempts,transient_base,source\n,4,25ms,src\n", `x.csv:2: field "service": empty`},
		{"service,max_attempts,transient_base,source\nA,4,25ms,s\na,3,25ms,s\n", `x.csv:3: field "service": "a" already on line 2`},
		{"service,max_attempts,transient_base,source\nA,4,25ms\n", `x.csv:2: 3 fields, want 4`},
		{"service,max_attempts,transient_base,source\nA,0,25ms,s\n", `x.csv:2: field "max_attempts"`},
	}
	for _, b := range bad {
		_, err := parseServiceRetryDefaults("x.csv", b.data)
		if err == nil || !strings.Contains(err.Error(), b.want) || !strings.HasPrefix(err.Error(), "middleware: ") {
			t.Errorf("%q: error %v, want one containing %q", b.data, err, b.want)
		}
	}
}

// serviceClient makes one call of a service through a real SDK client. retryer nil keeps the
// client's own default retryer.
type serviceClient struct {
	service string
	call    func(ctx context.Context, cfg aws.Config, tg *Tollgate) error
	ok      string // a successful response body
	failed  string // a 500 response body
}

var defaultsClients = []serviceClient{
	{
		service: "DynamoDB", ok: `{}`, failed: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`,
		call: func(ctx context.Context, cfg aws.Config, tg *Tollgate) error {
			_, err := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { install(tg, &o.Retryer, &o.APIOptions) }).
				GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
					Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}})
			return err
		},
	},
	{
		service: "DynamoDB Streams", ok: `{}`, failed: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`,
		call: func(ctx context.Context, cfg aws.Config, tg *Tollgate) error {
			_, err := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { install(tg, &o.Retryer, &o.APIOptions) }).
				ListStreams(ctx, &dynamodbstreams.ListStreamsInput{})
			return err
		},
	},
	{
		service: "S3", ok: `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name></ListBucketResult>`,
		failed: `<Error><Code>InternalError</Code><Message>boom</Message></Error>`,
		call: func(ctx context.Context, cfg aws.Config, tg *Tollgate) error {
			_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; install(tg, &o.Retryer, &o.APIOptions) }).
				ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b")})
			return err
		},
	},
	{
		service: "KMS", ok: `{"Keys":[]}`, failed: `{"__type":"KMSInternalException","message":"boom"}`,
		call: func(ctx context.Context, cfg aws.Config, tg *Tollgate) error {
			_, err := kms.NewFromConfig(cfg, func(o *kms.Options) { install(tg, &o.Retryer, &o.APIOptions) }).
				ListKeys(ctx, &kms.ListKeysInput{})
			return err
		},
	},
}

// install puts tg in a client's options (nothing when tg is nil: the client's own retryer).
func install(tg *Tollgate, retryer *aws.Retryer, apiOptions *[]func(*smithymiddleware.Stack) error) {
	if tg == nil {
		return
	}
	*retryer = tg.NewRetryer()
	*apiOptions = append(*apiOptions, tg.AddToStack)
}

// scriptedServer answers in-process (no socket, so it runs inside a synctest bubble): the first
// `fail` requests of every call get a 500, the rest succeed. It records each request's arrival
// time and amz-sdk-request header.
type scriptedServer struct {
	svc  serviceClient
	fail int // failed attempts per call before success; < 0: always fail

	mu       sync.Mutex
	times    [][]time.Time // per call, arrival of each attempt
	headers  []string
	inCall   int
	attempts int
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	h := r.Header.Get("Amz-Sdk-Request")
	s.headers = append(s.headers, h)
	if strings.HasPrefix(h, "attempt=1;") || h == "attempt=1" {
		s.times = append(s.times, nil)
	}
	n := len(s.times) - 1
	s.times[n] = append(s.times[n], time.Now())
	attempt := len(s.times[n])
	s.mu.Unlock()
	ct := "application/x-amz-json-1.0"
	if s.svc.service == "S3" {
		ct = "application/xml"
	}
	w.Header().Set("Content-Type", ct)
	if s.fail < 0 || attempt <= s.fail {
		w.WriteHeader(500)
		io.WriteString(w, s.svc.failed)
		return
	}
	io.WriteString(w, s.svc.ok)
}

// firstGaps returns, per call, the delay between its first and second attempts.
func (s *scriptedServer) firstGaps() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, ts := range s.times {
		if len(ts) >= 2 {
			out = append(out, ts[1].Sub(ts[0]))
		}
	}
	return out
}

// Per-service retry defaults, against the SDK's own clients: with every attempt failing with a
// 500, tollgate makes as many attempts as the client's default standard retryer (4 for DynamoDB
// and DynamoDB Streams, 3 for the others), with the same amz-sdk-request header; and with the
// first attempt of 150 calls failing, the delays before the retry stay below the same
// transient base (25 ms or 50 ms) and come near it — for the SDK (crypto-random jitter, so
// "near": the largest of 150 uniform draws falls in the top 20% of the range with probability
// 1 - 0.8^150 ≈ 1 - 3·10^-15) and for tollgate (seeded).
func TestServiceRetryDefaultsMatchTheSDK(t *testing.T) {
	bases := map[string]time.Duration{}
	attempts := map[string]int{}
	for _, d := range ServiceRetryDefaults() {
		bases[d.Service], attempts[d.Service] = d.TransientBase, d.MaxAttempts
	}
	for _, svc := range defaultsClients {
		wantAttempts, wantBase := backoff.DefaultMaxAttempts, backoff.DefaultTransientBase
		if _, ok := attempts[svc.service]; ok {
			wantAttempts, wantBase = attempts[svc.service], bases[svc.service]
		}
		t.Run(svc.service, func(t *testing.T) {
			for _, withTollgate := range []bool{false, true} {
				who := "SDK"
				if withTollgate {
					who = "tollgate"
				}
				synctest.Test(t, func(t *testing.T) {
					// Every attempt fails: the call makes all its attempts.
					srv := &scriptedServer{svc: svc, fail: -1}
					var tg *Tollgate
					if withTollgate {
						tg = mustNew(t, Config{Seed: 7})
					}
					err := svc.call(context.Background(), awsConfig("http://service.test", newHandlerClient(srv)), tg)
					var mae *retry.MaxAttemptsError
					if !errors.As(err, &mae) || mae.Attempt != wantAttempts {
						t.Fatalf("%s: error %v, want *retry.MaxAttemptsError after %d attempts", who, err, wantAttempts)
					}
					if got := len(srv.headers); got != wantAttempts {
						t.Errorf("%s: %d attempts, want %d", who, got, wantAttempts)
					}
					if want := fmt.Sprintf("attempt=%d; max=%d", wantAttempts, wantAttempts); srv.headers[len(srv.headers)-1] != want {
						t.Errorf("%s: last amz-sdk-request %q, want %q", who, srv.headers[len(srv.headers)-1], want)
					}
				})
				synctest.Test(t, func(t *testing.T) {
					// One failure per call: the delay before the retry is drawn from [0, base).
					srv := &scriptedServer{svc: svc, fail: 1}
					var tg *Tollgate
					if withTollgate {
						tg = mustNew(t, Config{Seed: 7})
					}
					cfg := awsConfig("http://service.test", newHandlerClient(srv))
					for i := 0; i < 150; i++ {
						if err := svc.call(context.Background(), cfg, tg); err != nil {
							t.Fatalf("%s: call %d: %v", who, i, err)
						}
					}
					var largest time.Duration
					for _, g := range srv.firstGaps() {
						if g >= wantBase {
							t.Errorf("%s: retry after %v, not below the %v base", who, g, wantBase)
						}
						largest = max(largest, g)
					}
					if largest < wantBase*8/10 {
						t.Errorf("%s: the largest of 150 first delays is %v, below 80%% of the %v base", who, largest, wantBase)
					}
					t.Logf("%s %s: %d attempts at most; first retry delays up to %v (base %v)", svc.service, who, wantAttempts, largest, wantBase)
				})
			}
		})
	}
}

// Who bounds a call's attempts, and what the caller gets at the bound. With every attempt
// failing with a 500 (DynamoDB GetItem), tollgate ends where the SDK ends, with the SDK's own
// *retry.MaxAttemptsError: at the service's default (4), at a RetryMaxAttempts set on the
// client or on one call (the SDK then counts), at Config.Policy.MaxAttempts when set; and a
// retryer installed without the stack middleware still stops at the default.
func TestAttemptBounds(t *testing.T) {
	ddb := defaultsClients[0]
	getItem := func(ctx context.Context, c *dynamodb.Client, optFns ...func(*dynamodb.Options)) error {
		_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}}, optFns...)
		return err
	}
	cases := []struct {
		name   string
		cfg    Config
		client func(o *dynamodb.Options, tg *Tollgate)
		call   []func(*dynamodb.Options)
		want   int
	}{
		{"service default", Config{}, func(o *dynamodb.Options, tg *Tollgate) { install(tg, &o.Retryer, &o.APIOptions) }, nil, 4},
		{"client RetryMaxAttempts", Config{}, func(o *dynamodb.Options, tg *Tollgate) {
			o.RetryMaxAttempts = 6
			install(tg, &o.Retryer, &o.APIOptions)
		}, nil, 6},
		{"call RetryMaxAttempts", Config{}, func(o *dynamodb.Options, tg *Tollgate) { install(tg, &o.Retryer, &o.APIOptions) },
			[]func(*dynamodb.Options){func(o *dynamodb.Options) { o.RetryMaxAttempts = 2 }}, 2},
		{"Config.Policy.MaxAttempts", Config{Policy: backoff.Policy{MaxAttempts: 5}},
			func(o *dynamodb.Options, tg *Tollgate) { install(tg, &o.Retryer, &o.APIOptions) }, nil, 5},
		{"retryer without the stack middleware", Config{},
			func(o *dynamodb.Options, tg *Tollgate) { o.Retryer = tg.NewRetryer() }, nil, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &scriptedServer{svc: ddb, fail: -1}
				cfg := tc.cfg
				cfg.Seed = 3
				tg := mustNew(t, cfg)
				c := dynamodb.NewFromConfig(awsConfig("http://service.test", newHandlerClient(srv)), func(o *dynamodb.Options) { tc.client(o, tg) })
				err := getItem(context.Background(), c, tc.call...)
				if got := len(srv.headers); got != tc.want {
					t.Errorf("%d attempts, want %d (headers %q)", got, tc.want, srv.headers)
				}
				var mae *retry.MaxAttemptsError
				if !errors.As(err, &mae) || mae.Attempt != tc.want {
					t.Errorf("error %T %v, want *retry.MaxAttemptsError after %d attempts", err, err, tc.want)
				}
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalServerError" {
					t.Errorf("the service's error is lost: %v", err)
				}
				if tc.name != "retryer without the stack middleware" {
					if want := fmt.Sprintf("attempt=%d; max=%d", tc.want, tc.want); srv.headers[len(srv.headers)-1] != want {
						t.Errorf("last amz-sdk-request %q, want %q", srv.headers[len(srv.headers)-1], want)
					}
				}
			})
		})
	}
}

// A long-polling operation whose retry the retryer refuses gets a RetryDelay from the SDK
// before it returns; a call stopped at its maximum attempts gets none.
func TestNoDelayAfterMaxAttempts(t *testing.T) {
	tg := mustNew(t, Config{Seed: 1})
	r := tg.NewRetryer()
	cs := &callState{svc: tg.servicePolicy("SQS"), stop: backoff.StopMaxAttempts.String()}
	err := &attemptError{err: &smithy.GenericAPIError{Code: "ThrottlingException"}, cs: cs}
	if d, e := r.RetryDelay(3, err); d != 0 || e != nil {
		t.Errorf("RetryDelay after the last attempt: %v, %v; want 0, nil", d, e)
	}
	cs.stop = ""
	if d, _ := r.RetryDelay(1, err); d < 0 || d >= time.Second {
		t.Errorf("RetryDelay of a throttle: %v, want within [0, 1s)", d)
	}
}
