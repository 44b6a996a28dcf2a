package middleware

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/internal/faultproxy"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// faultRun is what one side of the fault-injection run saw.
type faultRun struct {
	calls, succeeded, attempts int
	maxOverrun                 time.Duration // latest return after a call's deadline (≤ 0: none late)
	proxy                      faultproxy.Stats
	failures                   map[string]int // error text (first line) → count
}

const (
	faultWorkers     = 8
	faultIterations  = 8 // each makes 6 calls: PutItem, GetItem, PutObject, GetObject, GetCallerIdentity, Encrypt
	faultCallTimeout = 5 * time.Second
	faultReadTimeout = time.Second
)

// runBehindFaultProxy drives real SDK clients — DynamoDB, S3, STS, KMS — against the emulator
// behind proxies that reset 5% of connections and stall 1%, with tollgate (and the default
// limiter rules) when withTollgate is set, with each client's own standard retryer otherwise.
// Both use the SDK's HTTP client with keep-alives off, so every attempt has its own connection
// and meets the proxy's odds, and the SDK's read timeout, so a stalled attempt ends. Each worker
// has its own proxy, seeded by its number: a worker's calls are sequential, so its Nth
// connection meets the same fate on both sides, whatever the scheduling of the other workers.
func runBehindFaultProxy(t *testing.T, emu *emulator.Emulator, withTollgate bool) faultRun {
	var tg *Tollgate
	if withTollgate {
		tg = mustNew(t, Config{Limiter: limiter.New(limiter.DefaultRules()), Seed: 17})
	}
	counter := &attemptCounter{}
	opts := func(retryer *aws.Retryer, api *[]func(*smithymiddleware.Stack) error) {
		install(tg, retryer, api)
		*api = append(*api, counter.add)
	}
	type clients struct {
		ddb   *dynamodb.Client
		s3c   *s3.Client
		stsc  *sts.Client
		kmsc  *kms.Client
		proxy *faultproxy.Proxy
	}
	workerClients := func(w int) clients {
		proxy, err := faultproxy.Start("127.0.0.1:0", faultproxy.Config{
			Target: strings.TrimPrefix(emu.URL(), "http://"), ResetRate: 0.05, StallRate: 0.01, Seed: 2026 + uint64(w)})
		if err != nil {
			t.Fatal(err)
		}
		cfg := awsConfig("http://"+proxy.Addr(), sdkHTTPClient(nil, nil).WithReadTimeout(faultReadTimeout))
		return clients{
			ddb:   dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { opts(&o.Retryer, &o.APIOptions) }),
			s3c:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; opts(&o.Retryer, &o.APIOptions) }),
			stsc:  sts.NewFromConfig(cfg, func(o *sts.Options) { opts(&o.Retryer, &o.APIOptions) }),
			kmsc:  kms.NewFromConfig(cfg, func(o *kms.Options) { opts(&o.Retryer, &o.APIOptions) }),
			proxy: proxy,
		}
	}

	res := faultRun{failures: map[string]int{}, maxOverrun: math.MinInt64}
	var mu sync.Mutex
	call := func(fn func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), faultCallTimeout)
		defer cancel()
		deadline, _ := ctx.Deadline()
		err := fn(ctx)
		late := time.Since(deadline)
		mu.Lock()
		defer mu.Unlock()
		res.calls++
		res.maxOverrun = max(res.maxOverrun, late)
		if err == nil {
			res.succeeded++
			return
		}
		msg, _, _ := strings.Cut(err.Error(), "\n")
		res.failures[msg]++
	}
	var wg sync.WaitGroup
	for w := 0; w < faultWorkers; w++ {
		c := workerClients(w)
		ddb, s3c, stsc, kmsc := c.ddb, c.s3c, c.stsc, c.kmsc
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				c.proxy.Close()
				st := c.proxy.Stats()
				mu.Lock()
				res.proxy.Forwarded += st.Forwarded
				res.proxy.Reset += st.Reset
				res.proxy.Stalled += st.Stalled
				mu.Unlock()
			}()
			for i := 0; i < faultIterations; i++ {
				pk := fmt.Sprintf("w%d", w)
				sk := fmt.Sprint(i)
				key := fmt.Sprintf("w%d/%d.bin", w, i)
				body := bytes.Repeat([]byte{byte(w), byte(i)}, 4<<10)
				call(func(ctx context.Context) error {
					_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]ddbtypes.AttributeValue{
						"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: sk}}})
					return err
				})
				call(func(ctx context.Context) error {
					_, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: map[string]ddbtypes.AttributeValue{
						"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: sk}}})
					return err
				})
				call(func(ctx context.Context) error {
					_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(key), Body: bytes.NewReader(body)})
					return err
				})
				call(func(ctx context.Context) error {
					out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String(key)})
					if err != nil {
						return err
					}
					defer out.Body.Close()
					got, err := io.ReadAll(out.Body)
					if err == nil && !bytes.Equal(got, body) {
						err = fmt.Errorf("GetObject %s: %d bytes that differ from the %d put", key, len(got), len(body))
					}
					return err
				})
				call(func(ctx context.Context) error {
					_, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
					return err
				})
				call(func(ctx context.Context) error {
					_, err := kmsc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/orders"), Plaintext: body[:64]})
					return err
				})
			}
		}()
	}
	wg.Wait()
	res.attempts = counter.count()
	return res
}

// The fault-injection run: the same calls, through the same seeded faults, with tollgate and
// with the SDK's standard retryer. tollgate's calls succeed at least as often as the SDK's, and
// no call of either returns after its deadline (give or take the scheduler: 200 ms). Before the
// fix of transport-failure classification, tollgate failed every call whose first connection
// was reset or stalled.
func TestFaultInjectionBehindResettingProxy(t *testing.T) {
	emu := startEmulator(t, emulator.Options{Seed: 11})
	sdk := runBehindFaultProxy(t, emu, false)
	tollgate := runBehindFaultProxy(t, emu, true)
	for _, r := range []struct {
		who string
		faultRun
	}{{"SDK standard retryer", sdk}, {"tollgate", tollgate}} {
		t.Logf("%-20s %d/%d calls succeeded, %d attempts over %d connections (%d reset, %d stalled); calls returned at the latest %v after their deadline (negative: before); failures %v",
			r.who, r.succeeded, r.calls, r.attempts, r.proxy.Total(), r.proxy.Reset, r.proxy.Stalled, r.maxOverrun, r.failures)
		if r.proxy.Reset == 0 || r.proxy.Stalled == 0 {
			t.Errorf("%s: the proxy reset %d and stalled %d connections: the run does not exercise the faults", r.who, r.proxy.Reset, r.proxy.Stalled)
		}
		if r.maxOverrun > 200*time.Millisecond {
			t.Errorf("%s: a call returned %v after its deadline", r.who, r.maxOverrun)
		}
	}
	if tollgate.succeeded < sdk.succeeded {
		t.Errorf("tollgate: %d calls succeeded, fewer than the SDK's %d", tollgate.succeeded, sdk.succeeded)
	}
	if want := faultWorkers * faultIterations * 6; tollgate.calls != want || sdk.calls != want {
		t.Errorf("calls: tollgate %d, SDK %d, want %d each", tollgate.calls, sdk.calls, want)
	}
}
