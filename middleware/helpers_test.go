package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// handlerClient is an aws.HTTPClient that serves each request with an http.Handler in the same
// goroutine: the real emulator, without a socket. Inside a testing/synctest bubble the whole
// exchange — SDK, tollgate, emulator, their timers — then runs in virtual time.
type handlerClient struct {
	h http.Handler

	mu       sync.Mutex
	statuses map[int]int    // responses by status
	headers  []http.Header  // request headers, in order, when record is set
	bodies   map[string]int // request bodies seen (by content), when record is set
	record   bool
}

func newHandlerClient(h http.Handler) *handlerClient {
	return &handlerClient{h: h, statuses: map[int]int{}, bodies: map[string]int{}}
}

func (c *handlerClient) Do(req *http.Request) (*http.Response, error) {
	srv := req.Clone(req.Context())
	srv.Host = req.URL.Host
	srv.RequestURI = req.URL.RequestURI()
	if srv.Body == nil {
		srv.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, srv)
	resp := rec.Result()
	resp.Request = req
	c.mu.Lock()
	c.statuses[resp.StatusCode]++
	if c.record {
		c.headers = append(c.headers, req.Header.Clone())
	}
	c.mu.Unlock()
	return resp, nil
}

func (c *handlerClient) count(status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statuses[status]
}

func (c *handlerClient) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.statuses {
		n += v
	}
	return n
}

// awsConfig returns an aws.Config pointed at endpoint with static credentials.
func awsConfig(endpoint string, hc aws.HTTPClient) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   hc,
	}
}

// newEmulator builds an emulator (not listening) with opts.
func newEmulator(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	e, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// startEmulator serves an emulator on a loopback port for the test's lifetime.
func startEmulator(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	e := newEmulator(t, opts)
	if err := e.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		e.Close()
	})
	return e
}

// recorder is an event.Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Observe(e event.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) kinds(k event.Kind) []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// timeNow is time.Now; inside a synctest bubble it is the bubble's virtual clock.
func timeNow() time.Time { return time.Now() }
