package middleware

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// presignWithToken presigns method on bucket/key at endpoint with temporary credentials, so the
// URL carries X-Amz-Signature, X-Amz-Credential and X-Amz-Security-Token. It returns the URL,
// the signed headers and the secret values the URL holds.
func presignWithToken(t *testing.T, endpoint, method, bucket, key string) (string, http.Header, []string) {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSECRETKEY", "secret", "SESSIONTOKENVALUE")}
	pc := s3.NewPresignClient(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }))
	var u string
	var h http.Header
	switch method {
	case http.MethodGet:
		r, err := pc.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		u, h = r.URL, r.SignedHeader
	default:
		r, err := pc.PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		u, h = r.URL, r.SignedHeader
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	var secrets []string
	for _, p := range []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"} {
		v := q.Get(p)
		if v == "" {
			t.Fatalf("presigned URL has no %s: %s", p, u)
		}
		secrets = append(secrets, v, url.QueryEscape(v))
	}
	return u, h, secrets
}

// leaks returns the first secret found in s (the access key ID included), or "".
func leaks(s string, secrets []string) string {
	for _, v := range append(secrets, "AKIDSECRETKEY", "SESSIONTOKENVALUE") {
		if strings.Contains(s, v) {
			return v
		}
	}
	return ""
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Every way a presigned request can fail through the RoundTripper — tollgate's own refusals,
// a transport failure, a body that cannot be rewound, a cancelled backoff — gives an error
// without the URL's signature, credential or session token: from RoundTrip itself, and from
// Client.Do and RedactError over net/http's Client, whose *url.Error quotes the full URL. The
// typed error inside is still found by errors.As.
func TestRoundTripperErrorsHoldNoCredentials(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close() // connections to it are refused

	type setup struct {
		tg       *Tollgate
		next     http.RoundTripper
		endpoint string
		method   string
		body     func() *http.Request // nil: a plain request; else adjusts it
		ctx      func() (context.Context, func(*http.Response))
	}
	cases := []struct {
		name  string
		setup func(t *testing.T) setup
		// want checks the typed error errors.As must find.
		want func(error) bool
	}{
		{"limiter refusal", func(t *testing.T) setup {
			lim := limiter.New(limiter.Rules{{Name: "slow", Service: "S3", Operation: "*", Rate: 0.001, Burst: 1}},
				limiter.WithMaxWait(time.Millisecond))
			lim.Reserve(time.Now(), limiter.Key{Region: "us-east-1", Service: "S3", Operation: "GetObject", Resource: "data", Prefix: "logs/"}, 1, time.Time{})
			tg := mustNew(t, Config{Seed: 1, Limiter: lim})
			return setup{tg: tg, next: newHandlerClient(newEmulator(t, emulator.Options{Seed: 1})), endpoint: "http://emulator.test", method: http.MethodGet}
		}, func(err error) bool { var r *limiter.RefusedError; return errors.As(err, &r) }},
		{"transport failure", func(t *testing.T) setup {
			tg := mustNew(t, Config{Seed: 1, Policy: backoff.Policy{MaxAttempts: 1}})
			return setup{tg: tg, next: &http.Transport{}, endpoint: "http://" + deadAddr, method: http.MethodGet}
		}, func(err error) bool { var op *net.OpError; return errors.As(err, &op) }},
		{"body not rewindable", func(t *testing.T) setup {
			tg := mustNew(t, Config{Seed: 1, Policy: backoff.Policy{MaxAttempts: 5}})
			return setup{tg: tg, next: newHandlerClient(newEmulator(t, emulator.Options{Seed: 1, Faults: faults(t, putThrottleWindow)})),
				endpoint: "http://emulator.test", method: http.MethodPut}
		}, func(err error) bool { var nr *BodyNotRewindableError; return errors.As(err, &nr) }},
		{"cancelled during backoff", func(t *testing.T) setup {
			tg := mustNew(t, Config{Seed: 1, Policy: backoff.Policy{MaxAttempts: 5}})
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				cancel() // the caller gives up while tollgate backs off
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
			})
			return setup{tg: tg, next: next, endpoint: "http://emulator.test", method: http.MethodGet,
				ctx: func() (context.Context, func(*http.Response)) { return ctx, nil }}
		}, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, via := range []string{"RoundTrip", "Client.Do", "RedactError(http.Client.Do)"} {
				s := c.setup(t)
				u, header, secrets := presignWithToken(t, s.endpoint, s.method, "data", "logs/a.bin")
				ctx := context.Background()
				if s.ctx != nil {
					ctx, _ = s.ctx()
				}
				var body = http.NoBody
				req, err := http.NewRequestWithContext(ctx, s.method, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				if s.method == http.MethodPut {
					req.Body, req.ContentLength, req.GetBody = nopCloser{strings.NewReader("payload")}, 7, nil
				} else {
					req.Body = body
				}
				for k, v := range header {
					req.Header[k] = v
				}
				rt := s.tg.NewRoundTripper(s.next, nil)
				var resp *http.Response
				switch via {
				case "RoundTrip":
					resp, err = rt.RoundTrip(req)
				case "Client.Do":
					resp, err = (&Client{HTTP: &http.Client{Transport: rt}}).Do(req)
				default:
					resp, err = (&http.Client{Transport: rt}).Do(req)
					if err != nil && leaks(err.Error(), secrets) == "" {
						t.Fatalf("%s: net/http's error quotes no credential (%v): the test does not exercise redaction", via, err)
					}
					err = RedactError(err)
				}
				if resp != nil {
					resp.Body.Close()
				}
				if err == nil {
					t.Fatalf("%s: no error", via)
				}
				if v := leaks(err.Error(), secrets); v != "" {
					t.Errorf("%s: error leaks %q: %v", via, v, err)
				}
				if !c.want(err) {
					t.Errorf("%s: errors.As/Is does not find the typed error in %v", via, err)
				}
				if via != "RoundTrip" {
					var ue *url.Error
					if !errors.As(err, &ue) || !strings.Contains(ue.URL, "X-Amz-Signature=REDACTED") || !strings.Contains(ue.URL, "/data/logs/a.bin") {
						t.Errorf("%s: want a *url.Error naming the redacted URL, got %#v", via, err)
					}
				}
			}
		})
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
