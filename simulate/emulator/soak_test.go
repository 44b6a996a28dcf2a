package emulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tollgate/tollgate/internal/memtest"
)

// raiseFileLimit makes room for n more open files, raising the soft limit (and the hard one,
// which only root may) if needed. It skips the test, saying why, if it cannot.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		skipIntegration(t, "cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	want := lim
	want.Cur = n
	if want.Max < n {
		want.Max = n
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		skipIntegration(t, "the open-file limit is %d (hard %d) and cannot be raised to %d: %v (run as root or raise ulimit -n)", lim.Cur, lim.Max, n, err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}

// skipIntegration skips with a reason, or fails when TOLLGATE_REQUIRE_INTEGRATION=1.
func skipIntegration(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("TOLLGATE_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// The emulator under 1,000 idle and 1,000 slow connections keeps answering normal requests,
// holds bounded memory for them (measured with runtime/metrics), and closes them all once its
// timeouts pass: the slow uploads with S3's 400 RequestTimeout.
func TestSoakIdleAndSlowConnections(t *testing.T) {
	const idle, slow = 1000, 1000
	raiseFileLimit(t, 2*(idle+slow)+512)
	e := start(t, Options{ReadHeaderTimeout: 2 * time.Second, BodyIdleTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second})
	addr := strings.TrimPrefix(e.URL(), "http://")
	// Warm up: the SDK clients and the server's pools, so the baseline counts them.
	s3c, ec2c := s3Client(e), ec2.NewFromConfig(sdkConfig(e, "us-east-1"))
	ctx := context.Background()
	normal := func(i int) {
		t.Helper()
		key := fmt.Sprintf("soak/%d", i)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("soak"), Key: aws.String(key), Body: strings.NewReader("payload")}); err != nil {
			t.Fatalf("PutObject under load: %v", err)
		}
		if _, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatalf("DescribeInstances under load: %v", err)
		}
	}
	normal(0)
	before := memtest.InUse()

	conns := make([]net.Conn, 0, idle+slow)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		return c
	}
	for i := 0; i < idle; i++ {
		c := dial()
		if i%2 == 1 { // half idle before any request, half after one (keep-alive)
			fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		}
	}
	for i := 0; i < slow; i++ {
		c := dial()
		fmt.Fprintf(c, "PUT /soak/slow%d HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", i, addr, 1<<20, strings.Repeat("s", 100))
	}
	// Every connection is established and the slow ones have started their bodies: normal
	// requests still get answers.
	for i := 1; i <= 20; i++ {
		normal(i)
	}
	held := memtest.InUse() - before
	perConn := held / (idle + slow)
	t.Logf("%d idle and %d slow connections: %.1f MiB held (%d KiB per connection)", idle, slow, float64(held)/(1<<20), perConn>>10)
	if held > 64<<20 {
		t.Fatalf("the emulator holds %d MiB for %d connections", held>>20, idle+slow)
	}

	// The timeouts close every hostile connection; slow uploads are told RequestTimeout.
	timedOut := 0
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a safety net: the server closes long before
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if i >= idle && resp.StatusCode == 400 && strings.Contains(string(b), "<Code>RequestTimeout</Code>") {
				timedOut++
			}
			_, err = io.ReadAll(c) // then the server closes the connection
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection %d is still open after the emulator's timeouts", i)
		}
	}
	if timedOut != slow {
		t.Fatalf("%d of %d slow uploads were answered RequestTimeout", timedOut, slow)
	}
	normal(21)
}

// Connections past MaxConnections are closed as soon as they are accepted; closing one frees
// its slot.
func TestMaxConnections(t *testing.T) {
	e := start(t, Options{MaxConnections: 3})
	addr := strings.TrimPrefix(e.URL(), "http://")
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// A fourth connection is accepted and closed at once: reading it ends without an answer.
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	extra.SetReadDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(extra, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	if _, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil {
		t.Fatal("a connection past MaxConnections was served")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection past MaxConnections was left open")
	}
	extra.Close()
	if n := e.conns.rejected.Load(); n < 1 {
		t.Fatalf("rejected connections: %d", n)
	}
	// Free a slot: the next connection is served.
	held[0].Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; ; i++ {
		resp, err := client.Get(e.URL() + "/metrics")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			break
		}
		// The slot is given back when the server notices the close (its read of held[0] ends).
		if i > 1000 {
			t.Fatalf("no connection served after a slot was freed: %v", err)
		}
	}
}
