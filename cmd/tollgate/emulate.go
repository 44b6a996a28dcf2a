package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tollgate/tollgate/simulate/emulator"
	"github.com/tollgate/tollgate/simulate/server"
)

func init() {
	register(&command{
		name:    "emulate",
		summary: "serve AWS-compatible EC2, S3, DynamoDB, KMS, Lambda and STS on loopback, throttled like AWS",
		run:     runEmulate,
	})
}

const emulateSynopsis = `emulate [--listen 127.0.0.1:4599] [--rules FILE] [--faults FILE] [--latency 5ms] [--jitter 1ms]
                [--seed N] [--account ID] [--table NAME=HASH[,RANGE]]... [--split-after 10s] [--split-delay 1m]
                [--allow-remote]

Serves AWS-compatible responses for EC2 (DescribeInstances, RunInstances, TerminateInstances,
CreateTags), S3 (PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2; path-style),
DynamoDB (GetItem, PutItem, Query), KMS (Encrypt, Decrypt, GenerateDataKey, DescribeKey),
Lambda (Invoke, GetFunction) and STS (GetCallerIdentity) on one endpoint, throttled with AWS's
documented token buckets (tollgate's limiter defaults, overridable with --rules). Prints the
endpoint URL on the first line of its output and serves until interrupted. Prometheus metrics
are on /metrics. Signatures are NOT verified: any credentials work, so it listens on loopback
only unless --allow-remote is given.

The --faults file is YAML (see 'go doc github.com/tollgate/tollgate/simulate/server ParseFaults'):

  windows:
    - service: ec2                 # ec2, s3, dynamodb, kms, lambda, sts, or "*"
      operation: DescribeInstances # optional
      start: 30s                   # offset from the start of serving
      duration: 10s
      every: 2m                    # optional repeat period
      mode: throttle               # throttle | error (HTTP 500)`

// runEmulate runs `tollgate emulate`.
func runEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emulate", emulateSynopsis, stdout)
	listen := fs.String("listen", "127.0.0.1:4599", "address to listen on (host:port; port 0 picks a free one)")
	rulesPath := fs.String("rules", "", "limiter rules file (YAML or JSON) merged over the defaults: same-named rules replace defaults, others take precedence")
	faultsPath := fs.String("faults", "", "fault schedule file (YAML): windows in which an API throttles everything or answers HTTP 500")
	latency := fs.Duration("latency", 0, "latency added to every response")
	jitter := fs.Duration("jitter", 0, "extra latency drawn uniformly from [0, jitter)")
	seed := fs.Uint64("seed", 0, "seed for jitter, request IDs, KMS nonces and data keys")
	account := fs.String("account", emulator.DefaultAccount, "12-digit AWS account ID in ARNs and GetCallerIdentity")
	splitAfter := fs.Duration("split-after", server.DefaultSplitAfter, "how long an S3 partition must be overloaded before a split is scheduled")
	splitDelay := fs.Duration("split-delay", server.DefaultSplitDelay, "how long a scheduled S3 partition split takes; SlowDown continues meanwhile")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback --listen address (anyone who can reach it can use it)")
	tables := tableFlag{}
	fs.Var(tables, "table", "DynamoDB key schema NAME=HASH[,RANGE] (repeatable); other tables use pk (hash) and sk (range)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := emulator.CheckListenAddr(*listen, *allowRemote); err != nil {
		return usagef("--listen: %v", err)
	}
	if *latency < 0 || *jitter < 0 || *splitAfter <= 0 || *splitDelay <= 0 {
		return usagef("--latency and --jitter must be >= 0, --split-after and --split-delay > 0")
	}

	opts := emulator.Options{
		Latency: *latency, LatencyJitter: *jitter, Seed: *seed, Account: *account,
		PartitionSplitAfter: *splitAfter, PartitionSplitDelay: *splitDelay,
		AllowRemote: *allowRemote, Tables: tables,
	}
	rulesDesc := "limiter defaults (AWS's published quotas; STS has none)"
	if *rulesPath != "" {
		rs, err := emulator.LoadRules(*rulesPath)
		if err != nil {
			return err
		}
		opts.Rules = rs
		rulesDesc = "limiter defaults, overridden by " + *rulesPath
	}
	faultsDesc := "none"
	if *faultsPath != "" {
		f, err := server.LoadFaults(*faultsPath)
		if err != nil {
			return err
		}
		opts.Faults = f
		faultsDesc = fmt.Sprintf("%s (%d windows, timed from now)", *faultsPath, len(f.Windows))
	}
	e, err := emulator.New(opts)
	if err != nil {
		return err
	}
	if err := e.Listen(*listen); err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return err
	}
	printEmulatorBanner(stdout, e.URL(), *account, rulesDesc, faultsDesc, *latency, *jitter)
	<-ctx.Done()
	if err := e.Close(); err != nil {
		return fmt.Errorf("emulator stopped: %w", err)
	}
	fmt.Fprintln(stdout, "tollgate emulate: stopped")
	return nil
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
