// Command grafana shows how an application exports tollgate's metrics and the AWS SDK's own
// client metrics to Prometheus, for the dashboards `tollgate-live dashboard` writes. It starts
// tollgate's AWS emulator in-process (so it runs without an AWS account), makes DynamoDB and
// EC2 calls through tollgate for a while, throttled by the emulator, and serves /metrics:
//
//	go run ./examples/grafana                      # 30 s, /metrics on 127.0.0.1:9464
//	go run ./examples/grafana -duration 5m
//
// In your application, keep the middle part (registry, Collector, MeterProvider, Tollgate,
// clients, handler) and drop the emulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/metrics/sdkmetrics"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/simulate/emulator"
)

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long to make calls")
	listen := flag.String("listen", "127.0.0.1:9464", "address to serve /metrics on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, *duration, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves /metrics on ln and makes calls for d.
func run(ctx context.Context, ln net.Listener, d time.Duration, out io.Writer) error {
	// The stand-in for AWS. EC2's DescribeInstances bucket is 100 tokens, 20/s, shared by every
	// caller in the account and Region: here other programs use half of it, so this one meets
	// RequestLimitExceeded although its limiter keeps it within the documented 20/s.
	shared := limiter.Rule{Name: "ec2-describe-shared", Service: "EC2", Operation: "DescribeInstances", Rate: 10, Burst: 50}
	emu, err := emulator.New(emulator.Options{Rules: append(limiter.Rules{shared}, limiter.DefaultRules()...)})
	if err != nil {
		return err
	}
	if err := emu.Start(ctx); err != nil {
		return err
	}
	defer emu.Close()

	// 1. One registry; tollgate's Collector and the SDK bridge register into it. Register is
	//    idempotent: every part of the program may call it with the same registry.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rules := limiter.DefaultRules()
	collector, err := metrics.Register(reg, metrics.Options{Rules: rules})
	if err != nil {
		return err
	}
	meters, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{})
	if err != nil {
		return err
	}

	// 2. One Tollgate per process, observed by the Collector, installed in every client.
	tg, err := middleware.New(middleware.Config{
		Limiter:  limiter.New(rules, limiter.WithMaxWait(time.Second)),
		Observer: collector,
	})
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		middleware.WithTollgate(tg),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(emu.URL()), // drop this line (and the credentials) for AWS
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		return err
	}
	// 3. The SDK's own metrics: set MeterProvider per client.
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.MeterProvider = meters })
	ec2c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.MeterProvider = meters })

	// 4. Serve them.
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(out, "metrics on http://%s/metrics for %v\n", ln.Addr(), d)

	// Some work: 60 calls per second, each in its own goroutine as a server's requests would
	// be; 40 DescribeInstances per second meet a 20-per-second bucket.
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	var wg sync.WaitGroup
	var calls, failed atomic.Int64
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			fmt.Fprintf(out, "%d calls, %d failed\n", calls.Load(), failed.Load())
			return nil
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%3 == 0 {
				_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: fmt.Sprint("order#", i%100)},
				}})
			} else {
				_, err = ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
			}
			calls.Add(1)
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				failed.Add(1)
			}
		}()
	}
}
