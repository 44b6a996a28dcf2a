package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

const emulateLong = `Serves AWS-compatible responses for EC2 (DescribeInstances, RunInstances, TerminateInstances,
CreateTags), S3 (PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2; path-style),
DynamoDB (GetItem, PutItem, Query), KMS (Encrypt, Decrypt, GenerateDataKey, DescribeKey),
Lambda (Invoke, GetFunction) and STS (GetCallerIdentity) on one endpoint, throttled with AWS's
documented token buckets (tollgate's limiter defaults, overridable with --rules). Prints the
endpoint URL on the first line of its output and serves until interrupted. Prometheus metrics
are on /metrics. Signatures are NOT verified: any credentials work, so it listens on loopback
only unless --allow-remote is given.

Like a real server it bounds what a client can make it hold: objects and the S3 store
(--max-object-size, --max-store-size: a PUT past them gets EntityTooLarge, or
InsufficientCapacity with HTTP 507), other request bodies in memory (--max-request-memory),
connections (--max-connections), and time (--read-header-timeout, --body-idle-timeout,
--read-timeout, --write-timeout, --idle-timeout; 0 for none).

The --faults file is YAML (see 'go doc github.com/tollgate/tollgate/simulate/server ParseFaults'):

  windows:
    - service: ec2                 # ec2, s3, dynamodb, kms, lambda, sts, or "*"
      operation: DescribeInstances # optional
      start: 30s                   # offset from the start of serving
      duration: 10s
      every: 2m                    # optional repeat period
      mode: throttle               # throttle | error (HTTP 500)`

func newEmulateCommand() *cobra.Command {
	var (
		listen, rulesPath, faultsPath, account  string
		latency, jitter, splitAfter, splitDelay time.Duration
		seed                                    uint64
		allowRemote                             bool
	)
	tables := tableFlag{}
	var lim emulatorLimits
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "serve AWS-compatible EC2, S3, DynamoDB, KMS, Lambda and STS on loopback, throttled like AWS",
		Long:  emulateLong,
		Example: `  tollgate emulate --listen 127.0.0.1:4599
  tollgate emulate --rules my-quotas.yaml --faults examples/scenarios/faults.yaml --latency 5ms --jitter 2ms
  tollgate emulate --table orders=customer,order_id --seed 7`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := emulator.CheckListenAddr(listen, allowRemote); err != nil {
				return cli.Usagef("--listen: %v", strings.TrimPrefix(err.Error(), "emulator: "))
			}
			opts := emulator.Options{
				Latency: latency, LatencyJitter: jitter, Seed: seed, Account: account,
				PartitionSplitAfter: splitAfter, PartitionSplitDelay: splitDelay,
				AllowRemote: allowRemote, Tables: tables,
			}
			if err := lim.apply(&opts); err != nil {
				return err
			}
			rulesDesc := "limiter defaults (AWS's published quotas; STS has none)"
			if rulesPath != "" {
				rs, err := loadRulesOverDefaults(rulesPath)
				if err != nil {
					return err
				}
				opts.Rules = rs
				rulesDesc = "limiter defaults, overridden by " + rulesPath
			}
			faultsDesc := "none"
			if faultsPath != "" {
				f, err := server.LoadFaults(faultsPath)
				if err != nil {
					return err
				}
				opts.Faults = f
				faultsDesc = fmt.Sprintf("%s (%d windows, timed from now)", faultsPath, len(f.Windows))
			}
			e, err := emulator.New(opts)
			if err != nil {
				return err
			}
			if err := e.Listen(listen); err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := e.Start(ctx); err != nil {
				e.Close()
				return err
			}
			stdout := cmd.OutOrStdout()
			printEmulatorBanner(stdout, e.URL(), account, rulesDesc, faultsDesc, latency, jitter)
			<-ctx.Done()
			if err := e.Close(); err != nil {
				return fmt.Errorf("emulator stopped: %w", err)
			}
			return ctx.Err() // "tollgate emulate: interrupted", exit status 130 as every command
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:4599", "address to listen on, `HOST:PORT` (port 0 picks a free one)")
	f.StringVar(&rulesPath, "rules", "", "limiter rules `FILE` (YAML or JSON) merged over the defaults: same-named rules replace defaults, others take precedence")
	f.StringVar(&faultsPath, "faults", "", "fault schedule `FILE` (YAML): windows in which an API throttles everything or answers HTTP 500")
	cli.DurationVar(f, &latency, "latency", 0, cli.AtLeast(time.Duration(0)), "latency added to every response")
	cli.DurationVar(f, &jitter, "jitter", 0, cli.AtLeast(time.Duration(0)), "extra latency drawn uniformly from [0, jitter)")
	cli.SeedVar(f, &seed, 0, "seed for jitter, request IDs, KMS nonces and data keys")
	f.StringVar(&account, "account", emulator.DefaultAccount, "12-digit AWS account `ID` in ARNs and GetCallerIdentity")
	cli.DurationVar(f, &splitAfter, "split-after", server.DefaultSplitAfter, cli.Above(time.Duration(0)), "how long an S3 partition must be overloaded before a split is scheduled")
	cli.DurationVar(f, &splitDelay, "split-delay", server.DefaultSplitDelay, cli.Above(time.Duration(0)), "how long a scheduled S3 partition split takes; SlowDown continues meanwhile")
	f.BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --listen address (anyone who can reach it can use it)")
	f.Var(tables, "table", "DynamoDB key schema NAME=HASH[,RANGE] (repeatable); other tables use pk (hash) and sk (range)")
	lim.register(f)
	return cmd
}

// printEmulatorBanner prints the endpoint URL alone on the first line (for scripts), then how
// to point each client at it.
func printEmulatorBanner(w io.Writer, url, account, rules, faults string, latency, jitter time.Duration) {
	fmt.Fprintln(w, url)
	fmt.Fprintf(w, `tollgate emulator serving EC2, S3, DynamoDB, KMS, Lambda and STS (signatures are not verified)
  metrics:  %s/metrics
  account:  %s (the Region is read from each request's SigV4 scope; us-east-1 without one)
  rules:    %s
  faults:   %s
  latency:  %v + up to %v jitter

Point aws-sdk-go-v2 at it (any static credentials; retries as you like):
  cfg, _ := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
      config.WithBaseEndpoint(%q),
      config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
  s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }) // S3 is path-style only
  ec2.NewFromConfig(cfg); dynamodb.NewFromConfig(cfg); kms.NewFromConfig(cfg); lambda.NewFromConfig(cfg); sts.NewFromConfig(cfg)
Or set AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
Ctrl-C stops it.
`, url, account, rules, faults, latency, jitter, url, url)
}

// tableFlag collects --table NAME=HASH[,RANGE] values.
type tableFlag map[string]emulator.TableSchema

func (t tableFlag) String() string {
	names := make([]string, 0, len(t))
	for n, s := range t {
		v := n + "=" + s.HashKey
		if s.RangeKey != "" {
			v += "," + s.RangeKey
		}
		names = append(names, v)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// Type names the value in --help.
func (t tableFlag) Type() string { return "NAME=HASH[,RANGE]" }

func (t tableFlag) Set(v string) error {
	name, keys, ok := strings.Cut(v, "=")
	hash, rng, _ := strings.Cut(keys, ",")
	if !ok || name == "" || hash == "" || strings.Contains(rng, ",") {
		return fmt.Errorf("want NAME=HASH or NAME=HASH,RANGE, got %q", v)
	}
	if _, dup := t[name]; dup {
		return fmt.Errorf("table %q given twice", name)
	}
	t[name] = emulator.TableSchema{HashKey: hash, RangeKey: rng}
	return nil
}
