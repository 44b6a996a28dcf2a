package middleware

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

// garbageFirstListener answers its first connection with bytes that are not HTTP and closes it;
// later connections are handed to the HTTP server. The client's transport fails the first attempt
// with an error backoff.TransportOf cannot name (a malformed response).
type garbageFirstListener struct {
	net.Listener
	once sync.Once
}

func (l *garbageFirstListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		first := false
		l.once.Do(func() { first = true })
		if !first {
			return c, nil
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for { // read the request head, then answer with garbage
				line, err := r.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			c.Write([]byte("NOT-HTTP garbage\r\n\r\n"))
		}()
	}
}

// An attempt whose transport failed for a reason TransportOf cannot name (here a malformed
// response on a real socket) is retried by the RoundTripper, as the SDK retries every failure of
// its HTTP client.
func TestRoundTripperRetriesUnnamedSendFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte("ok"))
	})}
	go srv.Serve(&garbageFirstListener{Listener: ln})
	defer srv.Close()

	tg := mustNew(t, Config{Seed: 1, Policy: backoff.Policy{Backoff: backoff.Backoff{TransientBase: time.Millisecond}}})
	next := &http.Transport{DisableKeepAlives: true}
	defer next.CloseIdleConnections()
	client := &http.Client{Transport: tg.NewRoundTripper(next, nil)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/bucket/key", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("want the retry to succeed, got %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || served.Load() != 1 {
		t.Fatalf("status %d, server answered %d requests; want 200 after one retry", resp.StatusCode, served.Load())
	}
}

// The RoundTripper retries a raw DynamoDB call like the SDK's DynamoDB client does: 4 attempts
// (the service's SDK default), where other services get 3.
func TestRoundTripperUsesServiceRetryDefaults(t *testing.T) {
	var attempts atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	for _, tc := range []struct {
		name, target string
		want         int32
	}{
		{"DynamoDB", "DynamoDB_20120810.GetItem", 4},
		{"KMS", "TrentService.Encrypt", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attempts.Store(0)
			tg := mustNew(t, Config{Seed: 1})
			client := &http.Client{Transport: tg.NewRoundTripper(nil, nil)}
			req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", strings.NewReader("{}"))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/"+strings.ToLower(tc.name)+"/aws4_request, SignedHeaders=host, Signature=abc")
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if got := attempts.Load(); got != tc.want {
				t.Fatalf("%s: %d attempts, want %d (the SDK client's default)", tc.name, got, tc.want)
			}
		})
	}
}
